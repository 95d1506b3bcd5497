import MotoHarness
import AWSAuth
import AWSCloud
import CloudModel
import Foundation
import Testing

@Suite("EventBridge, STS, IAM and pre-flight against moto",
       .enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct EventsIdentityIntegrationTests {
    @Test func scheduledTaskTargetsKeepEveryField() async throws {
        let moto = try await MotoServer.start()
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

        // moto answers SimulatePrincipalPolicy with a 500: said so, and the other checks go on.
        let td = try await factory.ecs.describeTaskDefinition("web")
        let findings = await factory.makePreflight().run(taskDefinition: td)
        #expect(findings.map(\.check) == ["credentials", "permissions", "role", "role"])
        #expect(findings[0].severity == .ok)
        #expect(findings[1].severity == .warning)
        #expect(findings[1].message.contains("iam:SimulatePrincipalPolicy"))
        #expect(findings[1].message.contains("HTTP 500"))
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
}
