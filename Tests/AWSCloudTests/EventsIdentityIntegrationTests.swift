import MotoHarness
import AWSAuth
@testable import AWSCloud
import CloudModel
import Foundation
import Testing
import CloudRuntime

@Suite("EventBridge, STS, IAM and pre-flight against moto",
       .enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct EventsIdentityIntegrationTests {
    /// Also against moto as it is (`.none`): EventBridge needs none of the patches.
    @Test(arguments: [MotoPatches.full, .none])
    func scheduledTaskTargetsKeepEveryField(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        defer { moto.stop() }
        let events = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).events
        let rule = try await events.describeRule(name: moto.string("eventRule"))
        #expect(rule.name == "nightly-report" && rule.state == "ENABLED")
        #expect(rule.scheduleExpression == "cron(0 3 * * ? *)")
        #expect(rule.arn.hasSuffix(":rule/nightly-report"))

        let targets = try await events.listTargetsByRule(rule: rule.name)
        let target = try #require(targets.first)
        #expect(targets.count == 1 && target.id == "report-task")
        #expect(target.taskDefinitionArn == moto.string("taskDefinitionArn"))
        #expect(target.json["RetryPolicy"]?["MaximumRetryAttempts"]?.intValue == 2)

        let next = moto.string("taskDefinitionArn").replacingOccurrences(of: ":1", with: ":7")
        try await events.putTargets(rule: rule.name, targets: [target.withTaskDefinition(next)])
        let after = try #require(try await events.listTargetsByRule(rule: rule.name).first)
        #expect(after.taskDefinitionArn == next)
        // Every other field is as it was.
        var expected = target.json
        expected["EcsParameters"]?["TaskDefinitionArn"] = .string(next)
        #expect(after.json == expected)

        let missing = await #expect(throws: CloudError.self) { try await events.describeRule(name: "no-such-rule") }
        #expect(missing?.code == CloudError.resourceNotFound)
    }

    @Test func identityRolesAndPreflight() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let factory = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials())
        let me = try await factory.sts.getCallerIdentity()
        #expect(me.account == "123456789012" && !me.arn.isEmpty && !me.userId.isEmpty)

        let role = try await factory.iam.getRole(name: "ecsTaskExecutionRole")
        #expect(role.arn == moto.string("executionRoleArn"))
        let noRole = await #expect(throws: CloudError.self) { try await factory.iam.getRole(name: "no-such-role") }
        #expect(noRole?.code == "NoSuchEntity")

        let assumer = AWSCloudFactory.roleAssumer(environment: try moto.environment())
        let source = try await StaticCredentials().credentials()
        let assumed = try await assumer.assumeRole(roleArn: role.arn, sessionName: "deploy", externalID: "ext-1",
                                                   using: source, region: "us-east-1")
        #expect(!assumed.accessKeyID.isEmpty && assumed.sessionToken?.isEmpty == false && assumed.expiration != nil)
        #expect(!assumed.description.contains(assumed.secretAccessKey))
        let web = try await assumer.assumeRoleWithWebIdentity(roleArn: role.arn, sessionName: "oidc",
                                                              webIdentityToken: "eyJhbGciOiJIUzI1NiJ9.e30.sig", region: "us-east-1")
        #expect(web.sessionToken?.isEmpty == false)

        // moto's identity for an unknown key (arn:aws:sts::…:user/moto) is no IAM principal, so
        // SimulatePrincipalPolicy refuses it (InvalidInput): said so, and the other checks go on.
        let td = try await factory.ecs.describeTaskDefinition("web")
        let findings = await factory.makePreflight().run(taskDefinition: td)
        #expect(findings.map(\.check) == ["credentials", "permissions", "role", "role"])
        #expect(findings[0].severity == .ok)
        #expect(findings[1].severity == .warning)
        #expect(findings[1].message.contains("iam:SimulatePrincipalPolicy"))
        #expect(findings[1].message.contains("InvalidInput"))
        #expect(findings[2...].allSatisfy { $0.severity == .ok })
        #expect(findings.preflightPassed)

        var broken = td
        broken.json["taskRoleArn"] = .string("arn:aws:iam::123456789012:role/ghost-role")
        let failed = await factory.makePreflight().run(taskDefinition: broken)
        #expect(!failed.preflightPassed)
        #expect(failed.preflightFailures.map(\.message) == [
            "the task definition's taskRoleArn arn:aws:iam::123456789012:role/ghost-role does not exist (iam:GetRole: NoSuchEntity)",
        ])
    }

    @Test func simulatePrincipalPolicyDecidesAndPreflightChecksPassRoleOnTheRoles() async throws {
        let moto = try await MotoServer.start(auth: true)
        defer { moto.stop() }
        let credentials = StaticCredentials(accessKeyID: moto.string("accessKeyId"), secret: moto.string("secretAccessKey"))
        let factory = AWSCloudFactory(environment: try moto.environment(), credentials: credentials)
        let iam = factory.iam
        let user = moto.string("userArn"), taskRole = moto.string("taskRoleArn"), executionRole = moto.string("executionRoleArn")
        // The client has no PutRolePolicy/PutUserPolicy; they go through its Query protocol.
        func putPolicy(_ action: String, _ owner: (key: String, name: String), _ policy: String, _ statements: String) async throws {
            var p = QueryParameters()
            p.add(owner.key, owner.name)
            p.add("PolicyName", policy)
            p.add("PolicyDocument", #"{"Version":"2012-10-17","Statement":["# + statements + "]}")
            _ = try await iam.rpc.call(action, p)
        }

        // An allowed, an implicitly and an explicitly denied action, decided by the role's policy.
        try await putPolicy("PutRolePolicy", ("RoleName", "web-task-role"), "reader",
                            #"{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"},"#
                                + #"{"Effect":"Deny","Action":"ecs:DeleteService","Resource":"*"}"#)
        let decisions = try await iam.simulatePrincipalPolicy(principalArn: taskRole,
                                                              actions: ["ecs:DescribeServices", "ecs:UpdateService", "ecs:DeleteService"])
        #expect(decisions == [
            PolicyEvaluation(action: "ecs:DescribeServices", resource: "*", decision: "allowed"),
            PolicyEvaluation(action: "ecs:UpdateService", resource: "*", decision: "implicitDeny"),
            PolicyEvaluation(action: "ecs:DeleteService", resource: "*", decision: "explicitDeny"),
        ])
        #expect(decisions.map(\.isAllowed) == [true, false, false])
        let missing = await #expect(throws: CloudError.self) {
            try await iam.simulatePrincipalPolicy(principalArn: "arn:aws:iam::123456789012:role/ghost-role", actions: ["ecs:UpdateService"])
        }
        #expect(missing?.code == "NoSuchEntity")

        // The deployer may do anything (Action "*"): pre-flight passes, iam:PassRole on both roles.
        let td = try await factory.ecs.describeTaskDefinition("web")
        let passed = await factory.makePreflight().run(taskDefinition: td)
        #expect(passed.map(\.severity) == [.ok, .ok, .ok, .ok], "\(passed)")
        #expect(passed[1].message.contains("iam:PassRole on the task definition's roles"))

        // Once it may not pass the task role, pre-flight fails on that role alone.
        try await putPolicy("PutUserPolicy", ("UserName", "deployer"), "no-task-role",
                            #"{"Effect":"Deny","Action":"iam:PassRole","Resource":""# + taskRole + #""}"#)
        let passRole = try await iam.simulatePrincipalPolicy(principalArn: user, actions: ["iam:PassRole"],
                                                             resources: [executionRole, taskRole])
        #expect(passRole == [
            PolicyEvaluation(action: "iam:PassRole", resource: executionRole, decision: "allowed"),
            PolicyEvaluation(action: "iam:PassRole", resource: taskRole, decision: "explicitDeny"),
        ])
        let failed = await factory.makePreflight().run(taskDefinition: td)
        #expect(!failed.preflightPassed)
        #expect(failed.preflightFailures.map(\.message) == [
            "\(user) lacks 1 required permission: iam:PassRole on \(taskRole) (explicitDeny)",
        ])
    }
}
