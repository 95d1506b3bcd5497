import CloudModel
import DeployAPI
import Foundation
import Simulator
import Testing

/// ECS's own blue/green, linear and canary through the real server and client: on a service
/// with the ECS controller and a load balancer's advanced configuration, ECS moves the traffic
/// and the server follows its service deployment, pauses it for approval at a PAUSE hook, and
/// rolls it back; a release mixes them with task-set strategies under one approval.
@Suite struct NativeStrategyEndToEndTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#
    static let fast = #"{"canary_percent":"20","canary_bake":"2m","linear_step_percent":"50","linear_step_bake":"1m","bake_time":"1m""#

    static func seedNative(_ t: TestServer, _ name: String, image: String = "nginx:1.0") throws {
        let td = try t.sim.seedTaskDefinition(family: name, image: image)
        try t.sim.createNativeService(cluster: "prod", name: name, taskDefinition: td.arn!)
    }

    /// The production rule's weights by target group.
    static func production(_ t: TestServer, _ name: String) throws -> [String: Int] {
        let rule = try #require(t.service(name)?.advancedLoadBalancer?.advancedConfiguration?.productionListenerRule)
        return Dictionary(try #require(t.sim.rule(rule)).actions.flatMap(\.weights).map { ($0.targetGroupArn, $0.weight) },
                          uniquingKeysWith: +)
    }

    @Test(arguments: ["canary", "linear", "bluegreen"])
    func aSeedStyleCommandRunsECSsOwnStrategy(strategy: String) async throws {
        let t = try await TestServer()
        try Self.seedNative(t, "web")
        let before = try Self.production(t, "web")
        let result = try await t.driving {
            await t.client(["-id", "n1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy", strategy,
                            "-config", Self.fast + "}", "-wait"])
        }
        #expect(result.code == 0, "\(result.text)")
        let d = try await t.status("n1")
        #expect(d.status == .succeeded, "\(d.error)")
        #expect(d.stages.map(\.name) == ["registerTaskDefinition", "startServiceDeployment", "followServiceDeployment"])
        #expect(d.stages[1].message.contains("ECS's deployment"), "\(d.stages[1].message)")
        // ECS moved production to the other target group, where the new tasks run.
        let after = try Self.production(t, "web")
        #expect(after.values.sorted() == [0, 100] && after != before, "\(before) -> \(after)")
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:2") == true)
        #expect(t.sim.trafficViolations.isEmpty, "\(t.sim.trafficViolations)")
        let status = await t.client(["-id", "n1", "-action", "status"])
        #expect(status.out.contains { $0.contains("followServiceDeployment") }, "\(status.text)")
        try await t.stop()
    }

    @Test func anUnhealthyImageIsReportedRolledBackWithECSsReason() async throws {
        let t = try await TestServer()
        try Self.seedNative(t, "web")
        let bad = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:fail-to-start"}]}"#
        let result = try await t.driving {
            await t.client(["-id", "bad", "-cluster", "prod", "-service", "web", "-taskdef", bad, "-strategy", "canary",
                            "-config", Self.fast + "}", "-wait"])
        }
        #expect(result.code != 0, "\(result.text)")
        let d = try await t.status("bad")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("ECS rolled back") && d.error.contains("Circuit breaker triggered"), "\(d.error)")
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)
        try await t.stop()
    }

    @Test(arguments: [true, false])
    func anApprovalAtAStageIsGivenThroughTheClient(approve: Bool) async throws {
        let t = try await TestServer()
        try Self.seedNative(t, "web")
        let accepted = await t.client(["-id", "gate", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy",
                                       "bluegreen", "-config", Self.fast + #","approve_at":"pre_production_traffic_shift"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        // Driven until ECS waits at the hook: the deployment says so.
        let waiting = try await t.driving {
            while true {
                let d = try await t.status("gate")
                if d.stages.contains(where: { $0.message.contains("waiting for approval") }) { return d }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        #expect(waiting.status == Deployment_V1_DeploymentStatus.inProgress)
        let asked = try #require(waiting.stages.last?.message)
        #expect(asked.contains("waiting for approval at PRODUCTION_TRAFFIC_SHIFT"), "\(asked)")
        #expect(try await t.http("/metrics").body.contains("ecs_pending_approvals 1"))
        // Nothing of production moved yet.
        #expect(try Self.production(t, "web").values.sorted() == [0, 100])
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:2") == true, "the new revision is the service's PRIMARY deployment")
        let decision = approve
            ? await t.client(["-id", "gate", "-action", "approve", "-approver", "bob", "-reason", "smoke tests pass"])
            : await t.client(["-id", "gate", "-action", "reject", "-approver", "bob", "-reason", "not today"])
        #expect(decision.code == 0, "\(decision.text)")
        let d = try await t.waitUntilFinished("gate")
        #expect(d.status == (approve ? .succeeded : .rolledBack), "\(d.error)")
        #expect(try await t.http("/metrics").body.contains("ecs_pending_approvals 0"))
        #expect(t.service("web")?.taskDefinition?.hasSuffix(approve ? "web:2" : "web:1") == true)
        #expect(t.sim.trafficViolations.isEmpty, "\(t.sim.trafficViolations)")
        try await t.stop()
    }

    @Test func aRollbackAskedMidBakeStopsIt() async throws {
        let t = try await TestServer()
        try Self.seedNative(t, "web")
        _ = await t.client(["-id", "mid", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy", "canary",
                            "-config", #"{"canary_percent":"10","canary_bake":"30m"}"#])
        _ = try await t.driving {
            while try await t.status("mid").stages.last?.message.contains("PRODUCTION_TRAFFIC_SHIFT") != true {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        #expect(try Self.production(t, "web").values.sorted() == [10, 90])
        let rollback = try await t.driving { await t.client(["-id", "mid", "-action", "rollback", "-reason", "error rate", "-wait"]) }
        #expect(rollback.out.last?.contains("ROLLED_BACK") == true, "\(rollback.text)")
        let d = try await t.waitUntilFinished("mid")
        #expect(d.status == .rolledBack, "\(d.error)")
        #expect(d.rollbackStages.map(\.name) == ["rollBackServiceDeployment"])
        #expect(d.rollbackStages.first?.message.contains("ECS rolled back") == true, "\(d.rollbackStages.first?.message ?? "")")
        #expect(try Self.production(t, "web").values.sorted() == [0, 100])
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)
        try await t.stop()
    }

    /// 20 services, half on ECS's own strategies and half on task sets, one approval, then one
    /// rollback of all of them.
    @Test func aReleaseMixesNativeAndTaskSetStrategies() async throws {
        var mock = SimulatorSettings()
        mock.autoCreate = true
        mock.autoCreateController = .external
        let t = try await TestServer(simulator: mock)
        let native = (1...10).map { "native-\($0)" }
        let sets = (1...10).map { "sets-\($0)" }
        for name in native { try Self.seedNative(t, name, image: "repo/\(name):1") }
        var text = "release: mixed\napproval: required\nservices:\n"
        let strategies = ["canary", "linear", "bluegreen"]
        for (i, name) in native.enumerated() {
            text += "  - service: \(name)\n    clusterName: prod\n    serviceName: \(name)\n    image: repo/\(name):2\n"
            text += "    strategy: \(strategies[i % 3])\n    config:\n      canary_bake: 1m\n      linear_step_bake: 1m\n      bake_time: 1m\n"
        }
        for (i, name) in sets.enumerated() {
            text += "  - service: \(name)\n    clusterName: prod\n    serviceName: \(name)\n    image: repo/\(name):2\n"
            text += "    strategy: \(i % 2 == 0 ? "canary" : "bluegreen")\n    config:\n      canary_stages: \"50,100\"\n      stage_timeout: 1m\n"
            text += "      stabilization_time: 1m\n      cleanup_delay: 1m\n"
        }
        let file = try ReleaseTests.write(text)
        let submitted = await t.client(["-action", "release", "-file", file, "-id", "mixed"])
        #expect(submitted.out.first?.hasSuffix("status PENDING_APPROVAL") == true, "\(submitted.text)")
        let previous = Dictionary(uniqueKeysWithValues: (native + sets).map { ($0, t.service($0)?.taskDefinition ?? t.service($0)?.taskSets.first?.taskDefinition) })
        let approved = try await t.driving {
            await t.client(["-action", "approve", "-id", "mixed", "-approver", "alice", "-wait"])
        }
        #expect(approved.out.last?.hasPrefix("Release mixed: SUCCEEDED") == true, "\(approved.text)")
        for name in native { #expect(try ReleaseTests.images(t, try #require(t.service(name)?.taskDefinition)) == ["repo/\(name):2"]) }
        for name in sets {
            #expect(try ReleaseTests.images(t, try #require(t.service(name)?.taskSets.first?.taskDefinition)) == ["repo/\(name):2"])
        }
        #expect(t.sim.callCounts["ecs:DescribeServiceDeployments", default: 0] > 0)

        let rollback = try await t.driving {
            await t.client(["-action", "rollback", "-id", "mixed", "-approver", "carol", "-reason", "regression", "-wait"])
        }
        #expect(rollback.out.last?.hasPrefix("Release mixed: ROLLED_BACK") == true, "\(rollback.text)")
        let release = try await ReleaseTests.release(t, "mixed")
        #expect(release.entries.allSatisfy { $0.status == "ROLLED_BACK" }, "\(release.entries.map { "\($0.label) \($0.status)" })")
        for name in native { #expect(t.service(name)?.taskDefinition == previous[name] ?? nil, "\(name)") }
        for name in sets { #expect(t.service(name)?.taskSets.map(\.taskDefinition) == [previous[name] ?? nil].compactMap { $0 }, "\(name)") }
        #expect(t.sim.trafficViolations.isEmpty, "\(t.sim.trafficViolations)")
        try await t.stop()
    }
}
