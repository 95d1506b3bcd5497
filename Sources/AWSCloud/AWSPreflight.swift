import CloudModel
import Foundation

/// Checks, before a deployment starts, that AWS will let it run: the credentials work
/// (GetCallerIdentity), the caller holds the permissions the server uses (IAM
/// SimulatePrincipalPolicy) and the task definition's roles exist (GetRole).
public struct AWSPreflight: Sendable {
    /// The actions of the server's IAM policy (README, "Required AWS Permissions").
    public static let requiredActions: [String] = [
        "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition", "ecs:UpdateService",
        "ecs:CreateTaskSet", "ecs:UpdateTaskSet", "ecs:DeleteTaskSet", "ecs:DescribeTaskSets", "ecs:ListServices",
        "ecs:DescribeTasks",
        "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:DescribeTargetHealth",
        "iam:PassRole", "iam:GetRole",
    ]

    let identity: any IdentityAPI
    let iam: IAMClient

    public init(identity: any IdentityAPI, iam: IAMClient) {
        self.identity = identity
        self.iam = iam
    }

    /// Runs every check. `actions` are the permissions to verify; the task definition's
    /// `executionRoleArn` and `taskRoleArn`, when it has them, must exist.
    public func run(taskDefinition: TaskDefinition? = nil,
                    actions: [String] = AWSPreflight.requiredActions) async -> [PreflightFinding] {
        var findings: [PreflightFinding] = []
        let caller: CallerIdentity
        do {
            caller = try await identity.getCallerIdentity()
            findings.append(PreflightFinding(check: "credentials", severity: .ok,
                                             message: "signed in as \(caller.arn) (account \(caller.account))"))
        } catch {
            findings.append(PreflightFinding(check: "credentials", severity: .failure,
                                             message: "AWS does not accept the credentials: \(Self.describe(error))"))
            return findings
        }
        findings.append(await checkPermissions(of: caller, actions: actions))
        if let taskDefinition {
            for field in ["executionRoleArn", "taskRoleArn"] {
                guard let arn = taskDefinition.json[field]?.stringValue, !arn.isEmpty else { continue }
                findings.append(await checkRole(field: field, arn: arn))
            }
        }
        return findings
    }

    /// The IAM principal that SimulatePrincipalPolicy evaluates for a caller: an assumed
    /// role's session becomes its role (GetRole gives the ARN with its path).
    func principalArn(of caller: CallerIdentity) async -> String? {
        let arn = caller.arn
        if arn.hasSuffix(":root") { return nil }
        guard let range = arn.range(of: ":assumed-role/") else { return arn }
        let roleName = arn[range.upperBound...].split(separator: "/").first.map(String.init) ?? ""
        if let role = try? await iam.getRole(name: roleName) { return role.arn }
        let partition = arn.split(separator: ":").dropFirst().first.map(String.init) ?? "aws"
        return "arn:\(partition):iam::\(caller.account):role/\(roleName)"
    }

    func checkPermissions(of caller: CallerIdentity, actions: [String]) async -> PreflightFinding {
        guard let principal = await principalArn(of: caller) else {
            return PreflightFinding(check: "permissions", severity: .warning,
                                    message: "signed in as the account's root user, which holds every permission; use an IAM role instead")
        }
        let evaluations: [PolicyEvaluation]
        do {
            evaluations = try await iam.simulatePrincipalPolicy(principalArn: principal, actions: actions)
        } catch let error as CloudError {
            let why: String
            if error.code.hasPrefix("AccessDenied") {
                why = "\(principal) may not call iam:SimulatePrincipalPolicy"
            } else if error.httpStatus >= 500 || error.code == "InternalFailure" {
                why = "the IAM endpoint could not answer iam:SimulatePrincipalPolicy (HTTP \(error.httpStatus)); it may not support it"
            } else {
                why = "iam:SimulatePrincipalPolicy failed"
            }
            return PreflightFinding(check: "permissions", severity: .warning,
                                    message: "permissions not checked: \(why) (\(error.code): \(error.message)); continuing")
        } catch {
            return PreflightFinding(check: "permissions", severity: .warning,
                                    message: "permissions not checked: \(Self.describe(error)); continuing")
        }
        let allowed = Set(evaluations.filter(\.isAllowed).map(\.action))
        let missing = actions.filter { !allowed.contains($0) }
        guard missing.isEmpty else {
            let details = missing.map { action -> String in
                let decision = evaluations.first { $0.action == action }?.decision ?? "not evaluated"
                return "\(action) (\(decision))"
            }
            return PreflightFinding(check: "permissions", severity: .failure,
                                    message: "\(principal) lacks \(missing.count) required permission\(missing.count == 1 ? "" : "s"): "
                                        + details.joined(separator: ", "))
        }
        return PreflightFinding(check: "permissions", severity: .ok,
                                message: "\(principal) holds all \(actions.count) required permissions")
    }

    func checkRole(field: String, arn: String) async -> PreflightFinding {
        let name = arn.arnResourceName
        do {
            let role = try await iam.getRole(name: name)
            return PreflightFinding(check: "role", severity: .ok, message: "\(field) \(role.arn) exists")
        } catch let error as CloudError where error.code == "NoSuchEntity" || error.code == "NoSuchEntityException" {
            return PreflightFinding(check: "role", severity: .failure,
                                    message: "the task definition's \(field) \(arn) does not exist (iam:GetRole: \(error.code))")
        } catch {
            return PreflightFinding(check: "role", severity: .warning,
                                    message: "could not check the task definition's \(field) \(arn): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let cloud = error as? CloudError { return "\(cloud.code): \(cloud.message)" }
        return "\(error)"
    }
}
