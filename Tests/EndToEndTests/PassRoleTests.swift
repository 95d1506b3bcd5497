import AWSAuth
@testable import AWSCloud
import CloudModel
import Foundation
import MotoHarness
import Testing

/// The README's advice (iam:PassRole only on the roles it names) against the pre-flight, on
/// moto with request authentication (the caller is the seeded IAM user, whose policy
/// SimulatePrincipalPolicy evaluates): a redeploy whose request names no roles passes (the
/// check reads the task definition that will be registered), and a scheduled task whose
/// EventBridge target passes a role the caller may not pass is refused before anything is
/// registered, naming the role; once the role may be passed, the same release goes through.
@Suite(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct PassRoleTests {
    @Test func passRoleIsCheckedOnTheRegisteredRolesAndOnTheRuleTargetsRole() async throws {
        let moto = try await MotoServer.start(auth: true)
        defer { moto.stop() }
        let key = moto.string("accessKeyId"), secret = moto.string("secretAccessKey")
        let factory = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials(accessKeyID: key, secret: secret))
        func iam(_ action: String, _ parameters: [(String, String)]) async throws {
            var p = QueryParameters()
            for (name, value) in parameters { p.add(name, value) }
            _ = try await factory.iam.rpc.call(action, p)
        }
        // The scheduled task's target passes a role of its own.
        let trust = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        try await iam("CreateRole", [("RoleName", "events-invoke-role"), ("AssumeRolePolicyDocument", trust)])
        let eventsRole = moto.string("executionRoleArn").replacingOccurrences(of: "ecsTaskExecutionRole", with: "events-invoke-role")
        let rule = moto.string("eventRule")
        let targets = try await factory.events.listTargetsByRule(rule: rule)
        let oldTaskDefinition = try #require(targets.first?.taskDefinitionArn)
        try await factory.events.putTargets(rule: rule, targets: targets.map { target in
            var target = target
            target.json["RoleArn"] = .string(eventsRole)
            return target
        })
        // The README's policy with iam:PassRole narrowed to the task and execution roles.
        func policy(passable: [String]) -> String {
            let roles = passable.map { "\"\($0)\"" }.joined(separator: ",")
            return #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:PassRole","Resource":"*"},"#
                + #"{"Effect":"Allow","Action":"iam:PassRole","Resource":["# + roles + "]}]}"
        }
        let taskRoles = [moto.string("taskRoleArn"), moto.string("executionRoleArn")]
        try await iam("PutUserPolicy", [("UserName", "deployer"), ("PolicyName", "narrow"), ("PolicyDocument", policy(passable: taskRoles))])
        try await iam("DeleteUserPolicy", [("UserName", "deployer"), ("PolicyName", "all")])

        let r = try await AWSModeTests().start(moto, secret: secret, key: key)
        // A redeploy that names no roles: the registered definition keeps web:1's roles, which may be passed.
        let redeploy = await AWSModeTests().client(r, ["-id", "pass-1", "-cluster", "demo", "-service", "web",
                                                       "-taskdef", #"{"family":"web","cpu":"512"}"#, "-strategy", "quicksync", "-wait"])
        #expect(redeploy.code == 0, "\(redeploy.text)")
        #expect(redeploy.out.last?.contains("SUCCEEDED") == true, "\(redeploy.text)")

        // The scheduled task: refused on the target's role before anything is registered.
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("deployment-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: manifest) }
        try "tasks:\n  - service: report\n    cwRuleName: \(rule)\n    image: nginx:1.29\nservices: []\n"
            .write(to: manifest, atomically: true, encoding: .utf8)
        let refused = await AWSModeTests().client(r, ["-action", "release", "-file", manifest.path, "-id", "rel-pass-1", "-wait"])
        #expect(refused.code != 0, "\(refused.text)")
        let status = await AWSModeTests().client(r, ["-id", "rel-pass-1", "-action", "status"])
        #expect(status.text.contains("lacks 1 required permission: iam:PassRole on \(eventsRole) (implicitDeny)"), "\(status.text)")
        let unchanged = try await factory.events.listTargetsByRule(rule: rule)
        #expect(unchanged.map(\.taskDefinitionArn) == targets.map(\.taskDefinitionArn))

        // Allowed to pass it too: the same release goes through.
        try await iam("PutUserPolicy", [("UserName", "deployer"), ("PolicyName", "narrow"),
                                        ("PolicyDocument", policy(passable: taskRoles + [eventsRole]))])
        let released = await AWSModeTests().client(r, ["-action", "release", "-file", manifest.path, "-id", "rel-pass-2", "-wait"])
        #expect(released.code == 0, "\(released.text)")
        let repointed = try await factory.events.listTargetsByRule(rule: rule)
        #expect(repointed.first?.taskDefinitionArn != oldTaskDefinition)
        #expect(repointed.first?.json["RoleArn"]?.stringValue == eventsRole)
        await r.server.shutdown()
        try await r.task.value
    }
}
