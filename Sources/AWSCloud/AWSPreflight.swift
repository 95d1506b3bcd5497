import CloudModel
import CloudRuntime
import Foundation

/// Checks, before a deployment starts, that AWS will let it run: the credentials work
/// (GetCallerIdentity), the caller holds the permissions the server uses (IAM
/// SimulatePrincipalPolicy; iam:PassRole on the roles that will be passed) and those roles
/// exist (GetRole).
public struct AWSPreflight: Sendable {
    /// What deploying a service calls (README, "IAM policy"), iam:PassRole included (ECS
    /// checks it when a task definition with roles is registered).
    public static let requiredActions: [String] = [
        "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition", "ecs:UpdateService",
        "ecs:CreateTaskSet", "ecs:UpdateTaskSet", "ecs:DeleteTaskSet", "ecs:DescribeTaskSets",
        "ecs:UpdateServicePrimaryTaskSet", "ecs:ListTasks", "ecs:DescribeTasks",
        "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:DescribeTargetHealth",
        "iam:PassRole", "iam:GetRole",
    ]

    /// What pointing a scheduled task's EventBridge rule at a new task definition calls
    /// (PutTargets passes each target's RoleArn: iam:PassRole).
    public static let scheduledTaskActions: [String] = [
        "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition",
        "events:ListTargetsByRule", "events:PutTargets",
        "iam:PassRole", "iam:GetRole",
    ]

    /// What ECS's own blue/green, linear and canary call: the service deployments (found,
    /// followed, continued at a PAUSE hook, stopped with a rollback).
    public static let nativeActions: [String] = [
        "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions",
        "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment",
    ]

    /// Bakes that watch CloudWatch alarms (`alarms`) read them.
    public static let alarmsAction = "cloudwatch:DescribeAlarms"

    /// Bakes that judge CloudWatch analysis templates read metrics.
    public static let metricDataAction = "cloudwatch:GetMetricData"

    /// Registering a task definition that carries tags also needs ecs:TagResource.
    public static let taggingAction = "ecs:TagResource"

    /// A role that a call will pass, and where it comes from ("the task definition's
    /// taskRoleArn", "rule nightly's target report RoleArn").
    public struct PassedRole: Sendable, Equatable {
        public var source: String
        public var arn: String
        public init(source: String, arn: String) {
            self.source = source
            self.arn = arn
        }
    }

    let identity: any IdentityAPI
    let iam: IAMClient
    /// Around each call (the server's retries: a throttled or failed call is tried again as
    /// the deployment's own calls are, rather than taken for a refusal).
    let middleware: [any CloudMiddleware]

    public init(identity: any IdentityAPI, iam: IAMClient, middleware: [any CloudMiddleware] = []) {
        self.identity = identity
        self.iam = iam
        self.middleware = middleware
    }

    private func call<T: Sendable>(_ service: String, _ operation: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await middleware.run(CloudCall(service, operation), body)
    }

    /// The task definition's roles, which ECS passes (iam:PassRole) and pre-flight checks.
    static let roleFields = ["executionRoleArn", "taskRoleArn"]

    /// The task definition's roles (`executionRoleArn`, `taskRoleArn`), which ECS passes.
    public static func roles(of taskDefinition: TaskDefinition?) -> [PassedRole] {
        roleFields.compactMap { field in
            guard let arn = taskDefinition?.json[field]?.stringValue, !arn.isEmpty else { return nil }
            return PassedRole(source: "the task definition's \(field)", arn: arn)
        }
    }

    /// Runs every check. `actions` are the permissions to verify; the task definition's
    /// `executionRoleArn` and `taskRoleArn` and the `otherRoles`, when there are any, must
    /// exist and iam:PassRole is checked on them.
    public func run(taskDefinition: TaskDefinition? = nil, otherRoles: [PassedRole] = [],
                    actions: [String] = AWSPreflight.requiredActions) async -> [PreflightFinding] {
        var findings: [PreflightFinding] = []
        let caller: CallerIdentity
        do {
            let identity = self.identity
            caller = try await call("sts", "GetCallerIdentity") { try await identity.getCallerIdentity() }
            findings.append(PreflightFinding(check: "credentials", severity: .ok,
                                             message: "signed in as \(caller.arn) (account \(caller.account))"))
        } catch {
            findings.append(PreflightFinding(check: "credentials", severity: .failure,
                                             message: "AWS does not accept the credentials: \(Self.describe(error))"))
            return findings
        }
        let roles = Self.roles(of: taskDefinition) + otherRoles
        var roleArns: [String] = []
        for role in roles where !roleArns.contains(role.arn) { roleArns.append(role.arn) }
        let what = otherRoles.isEmpty ? "the task definition's roles" : "the roles passed"
        findings.append(await checkPermissions(of: caller, actions: actions, roleArns: roleArns, rolesAre: what))
        for role in roles {
            findings.append(await checkRole(role))
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
        let iam = self.iam
        if let role = try? await call("iam", "GetRole", { try await iam.getRole(name: roleName) }) { return role.arn }
        let partition = arn.split(separator: ":").dropFirst().first.map(String.init) ?? "aws"
        return "arn:\(partition):iam::\(caller.account):role/\(roleName)"
    }

    /// Simulates `actions` on any resource, except iam:PassRole, which is simulated on
    /// `roleArns` (the roles ECS will pass) when there are any.
    func checkPermissions(of caller: CallerIdentity, actions: [String], roleArns: [String] = [],
                          rolesAre what: String = "the task definition's roles") async -> PreflightFinding {
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
                evaluations = try await call("iam", "SimulatePrincipalPolicy") { [iam] in
                    try await iam.simulatePrincipalPolicy(principalArn: principal, actions: anyResource)
                }
            }
            if passRoleOnRoles {
                evaluations += try await call("iam", "SimulatePrincipalPolicy") { [iam] in
                    try await iam.simulatePrincipalPolicy(principalArn: principal, actions: [passRole], resources: roleArns)
                }
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
                                    + (passRoleOnRoles ? " (\(passRole) on \(what))" : ""))
    }

    func checkRole(_ passed: PassedRole) async -> PreflightFinding {
        let arn = passed.arn
        do {
            let role = try await call("iam", "GetRole") { [iam] in try await iam.getRole(name: arn.arnResourceName) }
            return PreflightFinding(check: "role", severity: .ok, message: "\(passed.source) \(role.arn) exists")
        } catch let error as CloudError where error.code == "NoSuchEntity" || error.code == "NoSuchEntityException" {
            return PreflightFinding(check: "role", severity: .failure,
                                    message: "\(passed.source) \(arn) does not exist (iam:GetRole: \(error.code))")
        } catch {
            return PreflightFinding(check: "role", severity: .warning,
                                    message: "could not check \(passed.source) \(arn): \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        if let cloud = error as? CloudError { return "\(cloud.code): \(cloud.message)" }
        return "\(error)"
    }
}
