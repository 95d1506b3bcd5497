import AWSAuth
@testable import AWSCloud
import CloudModel
import Foundation
import MotoHarness
import Testing

/// The check every moto test makes of the client's requests (`scripts/moto/request_check.py`,
/// against botocore's service models) finds what AWS would refuse: here requests built wrong on
/// purpose, through the client's own transport and signing.
@Suite(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct RequestCheckTests {
    @Test func requestsThatAWSWouldRefuseAreReported() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let factory = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials())
        let cluster = moto.string("cluster"), service = moto.string("externalService")

        // Well-formed requests leave nothing to report.
        _ = try await factory.ecs.describeServices(cluster: cluster, services: [service])
        _ = try await factory.elb.describeListeners(loadBalancerArn: moto.string("loadBalancerArn"))
        #expect(moto.takeRequestProblems() == [])

        // A client token longer than ECS's 36 characters (the models give no limit).
        _ = try? await factory.ecs.createTaskSet(CreateTaskSetInput(
            cluster: cluster, service: service, taskDefinition: moto.string("workerTaskDefinitionArn"),
            scale: Scale(value: 10), clientToken: String(repeating: "t", count: 38),
            launchSettings: .object(["launchType": .string("FARGATE")])))
        // An unknown member, a value outside an enum, a missing required member, a wrong type.
        _ = try? await factory.ecs.rpc.call("UpdateTaskSet", [
            "cluster": .string(cluster), "service": .string(service), "taskSet": .string("ecs-svc/1"),
            "scale": .object(["value": .string("10"), "unit": .string("PERCENTS")]), "force": .bool(true),
        ])
        _ = try? await factory.ecs.rpc.call("DescribeServices", ["cluster": .string(cluster)])
        // An authenticate-oidc action with neither ClientSecret nor UseExistingClientSecret.
        var oidc = QueryParameters()
        oidc.add("ListenerArn", moto.string("listenerArn"))
        oidc.add("DefaultActions.member.1.Type", "authenticate-oidc")
        oidc.add("DefaultActions.member.1.Order", "1")
        for (name, value) in [("Issuer", "https://idp"), ("AuthorizationEndpoint", "https://idp/a"), ("TokenEndpoint", "https://idp/t"),
                              ("UserInfoEndpoint", "https://idp/u"), ("ClientId", "client")] {
            oidc.add("DefaultActions.member.1.AuthenticateOidcConfig.\(name)", value)
        }
        oidc.add("DefaultActions.member.2.Type", "forward")
        oidc.add("DefaultActions.member.2.Order", "2")
        oidc.add("DefaultActions.member.2.TargetGroupArn", moto.string("blueTargetGroupArn"))
        _ = try? await factory.elb.rpc.call("ModifyListener", oidc)

        let problems = moto.takeRequestProblems()
        let expected = [
            "ecs:CreateTaskSet: clientToken: 38 characters; ECS accepts at most 36",
            "ecs:UpdateTaskSet: force: no such member of UpdateTaskSetRequest",
            "ecs:UpdateTaskSet: scale.value: expected a number, got '10'",
            "ecs:UpdateTaskSet: scale.unit: 'PERCENTS' is not one of ['PERCENT']",
            "ecs:DescribeServices: services: required member missing",
        ]
        for line in expected {
            #expect(problems.contains(line), "\(line) not in \(problems)")
        }
        #expect(problems.contains { $0.hasPrefix("elbv2:ModifyListener: DefaultActions[0].AuthenticateOidcConfig: neither ClientSecret nor UseExistingClientSecret=true") },
                "\(problems)")
        #expect(problems.count == expected.count + 1, "\(problems)")
    }
}
