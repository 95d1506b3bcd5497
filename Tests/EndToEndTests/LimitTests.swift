import CloudModel
import DeployAPI
import Engine
import Foundation
@testable import Server
import Simulator
import Testing

/// `limits:` through the real server and client, on the simulator with the test clock:
/// deployments per service over a period, in flight per cluster; refused with when to retry,
/// or queued.
@Suite struct LimitTests {
    static func taskdef(_ family: String) -> String {
        #"{"family":""# + family + #"","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#
    }

    static func server(_ yaml: String) async throws -> TestServer {
        try await TestServer(configure: { try! $0.apply(yaml: yaml, source: "config.yaml") }, simulator: SeedCommandsTests.mockMode)
    }

    func deploy(_ t: TestServer, _ id: String, service: String, config: String = "{}") async -> ClientResult {
        await t.client(["-id", id, "-cluster", "prod", "-service", service, "-taskdef", Self.taskdef(service), "-strategy", "quicksync",
                        "-config", config])
    }

    @Test func theFourthDeploymentInAnHourIsRefusedWithTheRetryTime() async throws {
        let t = try await Self.server("limits:\n  per_service: {deployments: 3, per: 1h}\n")
        let start = t.clock.now()
        for i in 1...3 {
            #expect(await deploy(t, "s\(i)", service: "web").code == 0)
            #expect(try await t.waitUntilFinished("s\(i)").status == .succeeded)
        }
        let refused = await deploy(t, "s4", service: "web")
        #expect(refused.code != 0)
        let retry = start.addingTimeInterval(3600).ISO8601Format()
        #expect(refused.err.first?.contains("error: service prod/web had 3 deployments in the last 1h "
            + "(limits.per_service: 3 per 1h): retry after \(retry)") == true, "\(refused.text)")
        #expect(refused.text.contains("(RESOURCE_EXHAUSTED)"), "\(refused.text)")
        #expect(await deploy(t, "o1", service: "api").code == 0, "another service is not limited")
        let metrics = try await t.http("/metrics").body
        #expect(metrics.contains(#"ecs_limit_refusals_total{limit="per_service"} 1"#), "\(metrics)")
        // Asked to queue, it waits until the first one leaves the window, then runs.
        #expect(await deploy(t, "s5", service: "web", config: #"{"queue":"true"}"#).code == 0)
        let queued = try await t.status("s5")
        #expect(queued.status == .pending)
        let events = try await t.server.engine.status(id: "s5").events
        #expect(events.last?.kind == .deploymentQueued && events.last?.message.hasSuffix("starts at \(retry)") == true,
                "\(events.map(\.message))")
        let done = try await t.waitUntilFinished("s5")
        #expect(done.status == .succeeded)
        let started = try #require(try await t.server.engine.status(id: "s5").events.first { $0.kind == .deploymentStarted })
        #expect(started.at >= start.addingTimeInterval(3600), "started at \(started.at.ISO8601Format())")
        try await t.stop()
    }

    /// Two in flight per cluster: the third waits in the queue and starts when one ends; one
    /// that did not ask to queue is refused; a queued one can be rolled back (nothing changed).
    @Test func aClusterLimitOfTwoQueuesTheThird() async throws {
        let t = try await Self.server("limits:\n  per_cluster: {in_flight: 2}\n")
        #expect(await deploy(t, "c1", service: "a").code == 0)
        #expect(await deploy(t, "c2", service: "b").code == 0)
        let refused = await deploy(t, "c3", service: "c")
        #expect(refused.err.first?.contains("2 deployments are running in cluster prod (limits.per_cluster.in_flight: 2): "
            + "retry when one of them ends, or deploy with -config '{\"queue\":\"true\"}' to wait in the queue") == true, "\(refused.text)")
        #expect(await deploy(t, "c4", service: "c", config: #"{"queue":"true"}"#).code == 0)
        #expect(await deploy(t, "c5", service: "d", config: #"{"queue":"true"}"#).code == 0)
        #expect(try await t.status("c4").status == .pending)
        let metrics = try await t.http("/metrics").body
        #expect(metrics.contains("ecs_deployments_queued 2"), "\(metrics)")
        #expect(metrics.contains(#"ecs_limit_refusals_total{limit="per_cluster"} 1"#))
        let cancelled = await t.client(["-id", "c5", "-action", "rollback", "-reason", "not today"])
        #expect(cancelled.code == 0, "\(cancelled.text)")
        for id in ["c1", "c2", "c4"] { #expect(try await t.waitUntilFinished(id).status == .succeeded) }
        let c5 = try await t.waitUntilFinished("c5")
        #expect(c5.status == .rolledBack && c5.error.contains("rollback requested"), "\(c5.status) \(c5.error)")
        #expect(try await t.server.engine.status(id: "c5").events.contains { $0.kind == .deploymentStarted } == false, "it never ran")
        // c4 started only once one of the first two had ended.
        let firstEnd = try await [t.server.engine.status(id: "c1"), t.server.engine.status(id: "c2")].compactMap(\.finishedAt).min()
        let c4Start = try #require(try await t.server.engine.status(id: "c4").events.first { $0.kind == .deploymentStarted }?.at)
        #expect(c4Start >= (firstEnd ?? .distantFuture))
        #expect(try await t.http("/metrics").body.contains("ecs_deployments_queued 0"))
        try await t.stop()
    }

    /// A queued deployment outlives a restart: it is queued again, and starts after the one
    /// that holds the cluster ends.
    @Test func aQueuedDeploymentIsQueuedAgainAfterARestart() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("limits-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("deployments.sqlite").path
        let configure: (inout ServerConfig) -> Void = {
            try! $0.apply(yaml: "limits:\n  per_cluster: {in_flight: 1}\n", source: "config.yaml")
            $0.gracefulTimeout = .zero  // r1 is checkpointed at the stop, not finished
        }
        let first = try await TestServer(configure: configure, simulator: SeedCommandsTests.mockMode, storagePath: path)
        #expect(await deploy(first, "r1", service: "a").code == 0)
        #expect(await deploy(first, "r2", service: "b", config: #"{"queue":"true"}"#).code == 0)
        #expect(try await first.status("r2").status == .pending)
        try await first.stop()

        let second = try await TestServer(configure: configure, storagePath: path, restarting: first)
        let r2 = try await second.waitUntilFinished("r2")
        #expect(r2.status == .succeeded, "\(r2.status) \(r2.error)")
        let r1 = try await second.server.engine.status(id: "r1")
        #expect(r1.status == .succeeded, "\(r1.events.map { "\($0.kind) \($0.message)" })")
        let events = try await second.server.engine.status(id: "r2").events
        #expect(events.filter { $0.kind == .deploymentQueued }.count == 2, "queued before the stop and after the start: \(events.map(\.kind))")
        let started = try #require(events.first { $0.kind == .deploymentStarted }?.at)
        #expect(started >= (r1.finishedAt ?? .distantFuture))
        try await second.stop()
    }

    /// A release's entries wait their turn under the cluster limit; the release succeeds.
    @Test func releaseEntriesQueueUnderTheLimit() async throws {
        let t = try await Self.server("limits:\n  per_cluster: {in_flight: 1}\n")
        _ = try ReleaseTests.seed(t, ["a", "b", "c"])
        let file = try ReleaseTests.write(ReleaseTests.manifest(services: [("a", "repo/a:2"), ("b", "repo/b:2"), ("c", "repo/c:2")]))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "lim", "-wait"]) }
        #expect(result.code == 0, "\(result.text)")
        #expect(result.out.last?.hasPrefix("Release lim: SUCCEEDED") == true, "\(result.text)")
        let release = try await ReleaseTests.release(t, "lim")
        var queued = 0
        for entry in release.entries {
            let events = try await t.server.engine.status(id: entry.deploymentID).events
            if events.contains(where: { $0.kind == .deploymentQueued }) { queued += 1 }
        }
        #expect(queued == 2, "one at a time: two of the three waited")
        try await t.stop()
    }

    @Test func configNamesTheField() throws {
        NotificationTests.expectRefused([
            ("limits:\n  per_service: {deployments: 3}\n", "limits.per_service.per: is required (e.g. 1h)"),
            ("limits:\n  per_cluster: {in_flight: 0}\n", "limits.per_cluster.in_flight: '0' must be a whole number from 1"),
            ("limits:\n  global: {max: 3}\n", "limits.global"),
            ("limits:\n  per_team: {in_flight: 3}\n", "per_team"),
        ])
        var config = ServerConfig()
        try config.apply(yaml: "limits:\n  per_service: {deployments: 3, per: 1h}\n  per_cluster: {in_flight: 2}\n  global: {in_flight: 50}\n  queue: true\n",
                         source: "config.yaml")
        #expect(config.limits == DeploymentLimits(perService: .init(count: 3, period: .seconds(3600)), perClusterInFlight: 2, globalInFlight: 50))
        #expect(config.deployment.queueWhenLimited == true)
    }
}
