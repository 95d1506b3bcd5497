import AWSAuth
import CloudModel
import Foundation

/// AWS IAM over the Query protocol: the calls pre-flight validation makes.
public struct IAMClient: Sendable {
    let rpc: QueryProtocol

    public init(transport: AWSTransport, environment: AWSEnvironment) {
        rpc = QueryProtocol(transport: transport, service: .iam, environment: environment)
    }

    /// GetRole by name (the last part of a role ARN, paths left out).
    public func getRole(name: String) async throws -> IAMRole {
        var p = QueryParameters()
        p.add("RoleName", name)
        let result = try await rpc.call("GetRole", p)
        let read = ResponseReader(call: "iam:GetRole")
        guard let role = result.child("Role") else { throw read.missing("Role") }
        return IAMRole(roleName: try read.string(role, "RoleName", in: "Role"), arn: try read.string(role, "Arn", in: "Role"),
                       roleId: role.string("RoleId"))
    }

    /// SimulatePrincipalPolicy for `principalArn` (a user or role ARN), every page.
    public func simulatePrincipalPolicy(principalArn: String, actions: [String],
                                        resources: [String] = []) async throws -> [PolicyEvaluation] {
        var evaluations: [PolicyEvaluation] = []
        var marker: String?
        let read = ResponseReader(call: "iam:SimulatePrincipalPolicy")
        repeat {
            var p = QueryParameters()
            p.add("PolicySourceArn", principalArn)
            p.addList("ActionNames", actions)
            if !resources.isEmpty { p.addList("ResourceArns", resources) }
            p.addOptional("Marker", marker)
            let result = try await rpc.call("SimulatePrincipalPolicy", p)
            for m in result.members("EvaluationResults") {
                evaluations.append(PolicyEvaluation(action: try read.string(m, "EvalActionName", in: "EvaluationResult"),
                                                    resource: m.string("EvalResourceName") ?? "*",
                                                    decision: try read.string(m, "EvalDecision", in: "EvaluationResult")))
            }
            marker = result.string("IsTruncated") == "true" ? result.string("Marker") : nil
        } while marker != nil
        return evaluations
    }
}
