import CloudModel
import Foundation

/// Checks, before a deployment starts, that AWS will let it run: the credentials work
/// (GetCallerIdentity), the caller holds the permissions the server uses (IAM
/// SimulatePrincipalPolicy; iam:PassRole on the task definition's roles) and those roles
/// exist (GetRole).
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

    /// The task definition's roles, which ECS passes (iam:PassRole) and pre-flight checks.
    static let roleFields = ["executionRoleArn", "taskRoleArn"]

    /// Runs every check. `actions` are the permissions to verify; the task definition's
    /// `executionRoleArn` and `taskRoleArn`, when it has them, must exist and iam:PassRole
    /// is checked on them.
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
        let roles = Self.roleFields.compactMap { field -> (field: String, arn: String)? in
            guard let arn = taskDefinition?.json[field]?.stringValue, !arn.isEmpty else { return nil }
            return (field, arn)
        }
        var roleArns: [String] = []
        for role in roles where !roleArns.contains(role.arn) { roleArns.append(role.arn) }
        findings.append(await checkPermissions(of: caller, actions: actions, roleArns: roleArns))
        for role in roles {
            findings.append(await checkRole(field: role.field, arn: role.arn))
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

    /// Simulates `actions` on any resource, except iam:PassRole, which is simulated on
    /// `roleArns` (the roles ECS will pass) when there are any.
    func checkPermissions(of caller: CallerIdentity, actions: [String], roleArns: [String] = []) async -> PreflightFinding {
        guard let principal = await principalArn(of: caller) else {
            return PreflightFinding(check: "permissions", severity: .warning,
                                    message: "signed in as the account's root user, which holds every permission; use an IAM role instead")
        }
        let passRole = "iam:PassRole"
        let passRoleOnRoles = !roleArns.isEmpty && actions.contains(passRole)
        let anyResource = passRoleOnRoles ? actions.filter { $0 != passRole } : actions
        // What must be allowed: an action (on any resource, nil) or iam:PassRole on one role.
        var required: [(action: String, resource: String?)] = anyResource.map { (action: $0, resource: String?.none) }
        if passRoleOnRoles {
            for arn in roleArns { required.append((action: passRole, resource: arn)) }
        }
        var evaluations: [PolicyEvaluation] = []
        do {
            if !anyResource.isEmpty {
                evaluations = try await iam.simulatePrincipalPolicy(principalArn: principal, actions: anyResource)
            }
            if passRoleOnRoles {
                evaluations += try await iam.simulatePrincipalPolicy(principalArn: principal, actions: [passRole],
                                                                     resources: roleArns)
            }
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
        func matches(_ e: PolicyEvaluation, _ r: (action: String, resource: String?)) -> Bool {
            e.action == r.action && (r.resource == nil || e.resource == r.resource)
        }
        let missing = required.filter { r in !evaluations.contains { matches($0, r) && $0.isAllowed } }
        guard missing.isEmpty else {
            let details = missing.map { r -> String in
                let decision = evaluations.first { matches($0, r) }?.decision ?? "not evaluated"
                let on = r.resource.map { " on " + $0 } ?? ""
                return "\(r.action)\(on) (\(decision))"
            }
            return PreflightFinding(check: "permissions", severity: .failure,
                                    message: "\(principal) lacks \(missing.count) required permission\(missing.count == 1 ? "" : "s"): "
                                        + details.joined(separator: ", "))
        }
        return PreflightFinding(check: "permissions", severity: .ok,
                                message: "\(principal) holds all \(actions.count) required permissions"
                                    + (passRoleOnRoles ? " (\(passRole) on the task definition's roles)" : ""))
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
