import MotoHarness
import AWSAuth
import AWSCloud
import CloudModel
import Foundation
import Testing

@Suite("ELBv2 client against moto", .enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
/// Every test runs against moto as it is too (`.none`): listeners, rules, target groups and
/// their errors need none of the patches.
struct ELBIntegrationTests {
    @Test(arguments: [MotoPatches.full, .none])
    func describeAndShiftTraffic(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        defer { moto.stop() }
        let elb = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).elb
        let lbArn = moto.string("loadBalancerArn"), listenerArn = moto.string("listenerArn")
        let blue = moto.string("blueTargetGroupArn"), green = moto.string("greenTargetGroupArn")

        let lbs = try await elb.describeLoadBalancers(arns: [lbArn])
        #expect(lbs.map(\.loadBalancerName) == ["web-lb"])
        #expect(lbs.first?.dnsName?.isEmpty == false)
        #expect(try await elb.describeLoadBalancers(arns: []).map(\.loadBalancerArn).contains(lbArn))

        let groups = try await elb.describeTargetGroups(arns: [blue, green])
        #expect(Set(groups.map(\.targetGroupName)) == ["web-blue", "web-green"])
        #expect(groups.allSatisfy { $0.port == 80 && $0.protocolName == "HTTP" })

        let listeners = try await elb.describeListeners(loadBalancerArn: lbArn)
        #expect(listeners.map(\.listenerArn) == [listenerArn])
        #expect(listeners.first?.port == 80)
        #expect(listeners.first?.defaultActions.first?.weights == [WeightedTargetGroup(targetGroupArn: blue, weight: 1)])

        let weighted = [WeightedTargetGroup(targetGroupArn: blue, weight: 90), WeightedTargetGroup(targetGroupArn: green, weight: 10)]
        let modified = try await elb.modifyListener(listenerArn: listenerArn, defaultActions: [.forward(weighted)])
        #expect(modified.defaultActions.first?.weights == weighted)
        let reread = try await elb.describeListeners(loadBalancerArn: lbArn)
        #expect(reread.first?.defaultActions.first?.weights == weighted)

        let rules = try await elb.describeRules(listenerArn: listenerArn)
        #expect(rules.count == 2)
        let rule = try #require(rules.first { !$0.isDefault })
        #expect(rule.ruleArn == moto.string("ruleArn") && rule.priority == "10" && rule.listenerArn == listenerArn)
        #expect(rule.conditions.arrayValue?.first?["Field"]?.stringValue == "path-pattern")
        #expect(rule.conditions.arrayValue?.first?["Values"] == .array([.string("/api/*")]))
        #expect(rules.first { $0.isDefault }?.priority == "default")

        let half = [WeightedTargetGroup(targetGroupArn: blue, weight: 50), WeightedTargetGroup(targetGroupArn: green, weight: 50)]
        let changed = try await elb.modifyRule(ruleArn: rule.ruleArn, actions: [.forward(half)])
        #expect(changed.actions.first?.weights == half)
        #expect(changed.listenerArn == listenerArn)
        #expect(changed.conditions == rule.conditions)

        let health = try await elb.describeTargetHealth(targetGroupArn: blue)
        #expect(health.map(\.targetId) == ["10.0.1.10"])
        #expect(health.first?.port == 80 && health.first?.state == "healthy")
    }

    @Test(arguments: [MotoPatches.full, .none])
    func nonForwardActionsKeepTheirFields(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        defer { moto.stop() }
        let elb = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).elb
        let fixed = ListenerAction(type: "fixed-response", extra: .object(["FixedResponseConfig": .object([
            "StatusCode": .string("503"), "ContentType": .string("text/plain"), "MessageBody": .string("down for maintenance"),
        ])]))
        let listener = try await elb.modifyListener(listenerArn: moto.string("listenerArn"), defaultActions: [fixed])
        let action = try #require(listener.defaultActions.first)
        #expect(action.type == "fixed-response")
        #expect(action.extra?["FixedResponseConfig"]?["MessageBody"]?.stringValue == "down for maintenance")
        #expect(action.extra?["FixedResponseConfig"]?["StatusCode"]?.stringValue == "503")
        // What came back can be sent back as it is.
        let again = try await elb.modifyListener(listenerArn: moto.string("listenerArn"), defaultActions: [action])
        #expect(again.defaultActions == [action])
    }

    @Test(arguments: [MotoPatches.full, .none])
    func errorsDecodeToTypedCloudErrors(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        defer { moto.stop() }
        let elb = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).elb
        let blue = moto.string("blueTargetGroupArn")
        let forward = ListenerAction.forward([WeightedTargetGroup(targetGroupArn: blue, weight: 1)])

        let listener = await #expect(throws: CloudError.self) {
            try await elb.modifyListener(listenerArn: moto.string("listenerArn") + "0", defaultActions: [forward])
        }
        #expect(listener?.code == CloudError.listenerNotFound)
        #expect(listener?.httpStatus == 400 && listener?.isRetryable == false)
        #expect(listener?.message.hasPrefix("elasticloadbalancing:ModifyListener: ") == true)

        let group = await #expect(throws: CloudError.self) { try await elb.describeTargetGroups(arns: [blue + "0"]) }
        #expect(group?.code == CloudError.targetGroupNotFound)

        let rule = await #expect(throws: CloudError.self) {
            try await elb.modifyRule(ruleArn: moto.string("ruleArn") + "0", actions: [forward])
        }
        #expect(rule?.code == CloudError.ruleNotFound)
    }
}
