import CloudModel
import DeployAPI
import Foundation
@testable import Server
import Simulator
import Testing

/// CloudWatch alarms watched during bakes (`alarms`), through the real server and client on
/// the simulator: an alarm going to ALARM mid-bake rolls the deployment back, traffic first.
@Suite struct AlarmGateTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#

    func deploy(_ t: TestServer, _ id: String, config: String, strategy: String) async -> ClientResult {
        await t.client(["-id", id, "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy", strategy, "-config", config])
    }

    @Test func anAlarmFiringDuringTheStabilizationRollsABlueGreenBack() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        t.sim.setAlarm("web-5xx", state: .ok)
        t.sim.setAlarm("web-latency", state: .ok)
        let accepted = await deploy(t, "b1", config: #"{"alarms":"web-5xx, web-latency","stabilization_time":"5m","cleanup_delay":"0s"}"#,
                                    strategy: "bluegreen")
        #expect(accepted.code == 0, "\(accepted.text)")
        let blue = try #require(t.service("web")?.primaryTaskSet)
        let blueGroup = try #require(blue.loadBalancers.first?.targetGroupArn)
        let lb = try #require(try t.sim.describeTargetGroups(arns: [blueGroup]).first?.loadBalancerArns.first)
        @Sendable func weights() throws -> [String: Int] {
            Dictionary(try t.sim.describeListeners(loadBalancerArn: lb).flatMap { $0.defaultActions.flatMap(\.weights) }
                .map { ($0.targetGroupArn, $0.weight) }, uniquingKeysWith: +)
        }
        try await t.driving {
            while try await !t.status("b1").currentStage.hasPrefix("bake(5m, stabilization)") { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(try weights()[blueGroup] == 0, "green takes the traffic during the stabilization")
        t.sim.setAlarm("web-latency", state: .alarm, reason: "Threshold Crossed: p99 latency 820 ms > 500 ms")

        let d = try await t.waitUntilFinished("b1")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("alarm web-latency is in ALARM: Threshold Crossed: p99 latency 820 ms > 500 ms"), "\(d.error)")
        #expect(d.stages.filter { $0.status == .stageFailed }.map(\.name) == ["bake(5m, stabilization)"])
        #expect(try weights()[blueGroup] == 100, "the traffic is back on blue")
        #expect(t.service("web")?.taskSets.map(\.id) == [blue.id])
        let metrics = try await t.http("/metrics").body
        #expect(metrics.contains(#"ecs_aws_api_calls_total{service="monitoring",operation="DescribeAlarms"}"#), "the alarms were read")
        try await t.stop()
    }

    @Test func quietAlarmsLetACanaryThrough() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        t.sim.setAlarm("web-5xx", state: .ok)
        let accepted = await deploy(t, "c1", config: #"{"alarms":"web-5xx","canary_stages":"50,100","stage_timeout":"1m"}"#, strategy: "canary")
        #expect(accepted.code == 0, "\(accepted.text)")
        let d = try await t.waitUntilFinished("c1")
        #expect(d.status == .succeeded, "\(d.error)")
        try await t.stop()
    }

    /// Without mock mode's creation on the fly, an alarm that does not exist is refused before
    /// anything changes; a bad list names the key.
    @Test func anUnknownAlarmIsRefusedUpFront() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let refused = await deploy(t, "q1", config: #"{"alarms":"no-such-alarm"}"#, strategy: "quicksync")
        #expect(refused.code != 0)
        #expect(refused.err.first?.contains("config.alarms") == true && refused.err.first?.contains("no-such-alarm") == true, "\(refused.text)")
        let long = String(repeating: "x", count: 300)
        let bad = await deploy(t, "q2", config: #"{"alarms":"\#(long)"}"#, strategy: "quicksync")
        #expect(bad.err.first?.contains("config.alarms") == true, "\(bad.text)")
        try await t.stop()
    }

    /// Quicksync's post-deploy watch on an ECS-controller service: the alarm fires while the
    /// new revision runs alone; the service goes back to the previous one.
    @Test func anAlarmDuringQuicksyncsPostDeployWatchRollsBack() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let previous = try #require(t.service("web")?.taskDefinition)
        t.sim.setAlarm("web-5xx", state: .ok)
        let accepted = await deploy(t, "w1", config: #"{"alarms":"web-5xx","post_deploy_watch":"2m"}"#, strategy: "quicksync")
        #expect(accepted.code == 0, "\(accepted.text)")
        try await t.driving {
            while try await !t.status("w1").currentStage.hasPrefix("bake(2m, post-deploy watch)") { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(t.service("web")?.taskDefinition != previous, "the new revision runs during the watch")
        t.sim.setAlarm("web-5xx", state: .alarm, reason: "Threshold Crossed")
        let d = try await t.waitUntilFinished("w1")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("alarm web-5xx is in ALARM"), "\(d.error)")
        #expect(t.service("web")?.taskDefinition == previous)

        // Without alarms firing, the watch passes.
        t.sim.setAlarm("web-5xx", state: .ok)
        #expect(await deploy(t, "w2", config: #"{"alarms":"web-5xx","post_deploy_watch":"2m"}"#, strategy: "quicksync").code == 0)
        let ok = try await t.waitUntilFinished("w2")
        #expect(ok.status == .succeeded, "\(ok.error)")
        #expect(ok.stages.map(\.name).last == "bake(2m, post-deploy watch)")
        try await t.stop()
    }

    @Test func configYAMLTakesAListOfAlarms() throws {
        var config = ServerConfig()
        try config.apply(yaml: "strategy:\n  alarms: [web-5xx, web-latency]\n  quicksync:\n    post_deploy_watch: 5m\n", source: "config.yaml")
        #expect(config.deployment.alarms == ["web-5xx", "web-latency"])
        #expect(config.deployment.postDeployWatch == .seconds(300))
    }
}
