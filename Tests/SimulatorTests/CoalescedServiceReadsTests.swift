import CloudModel
import Foundation
import Simulator
import Testing
import CloudRuntime

@Suite struct CoalescedServiceReadsTests {
    /// 300 deployments each reading its one service at once, with the service-reads bucket
    /// (100 + 20/s) empty: above the rate limiter, the reads queued while a call waits for its
    /// token go 10 a call, about 30 calls (1.5 s of tokens) instead of 300 (15 s), and each
    /// caller gets its own service. Nothing is throttled.
    @Test func concurrentSingleServiceReadsShareTokens() async throws {
        let w = World(settings: SimulatorSettings(throttle: .aws))
        let td = try w.register(image: "web:1")
        for i in 1...300 { _ = try w.sim.createService(cluster: "prod", name: "svc-\(i)", taskDefinition: td, desiredCount: 1) }
        let limiter = RateLimiterMiddleware(limits: .aws, clock: w.clock)
        let paced = MiddlewareCloud(w.cloud, middleware: [limiter]).cloud
        for _ in 0..<100 { _ = try await paced.ecs.describeServices(cluster: "prod", services: ["svc-1"]) }
        let ecs = paced.coalescingServiceReads(clock: w.clock).ecs
        let start = w.clock.now()
        // Each read is work the clock waits for (as a deployment's task is).
        w.clock.handOff(300)
        let reads = (1...300).map { i in
            Task {
                w.clock.takeUp(handedOff: true)
                defer { w.clock.workDone() }
                return try await ecs.describeServices(cluster: "prod", services: ["svc-\(i)"])
            }
        }
        let all = Task { var out: [[ECSService]] = []; for read in reads { out.append(try await read.value) }; return out }
        repeat { await w.clock.waitUntilIdle() } while w.clock.advanceToNextDeadline()
        let answers = try await all.value
        for (i, found) in answers.enumerated() {
            #expect(found.map(\.serviceName) == ["svc-\(i + 1)"])
        }
        let calls = (w.sim.callCounts["ecs:DescribeServices"] ?? 0) - 100
        #expect(calls >= 30 && calls <= 40)
        #expect(w.sim.throttledCount == 0)
        #expect(w.clock.now().timeIntervalSince(start) < 2.5)
    }
}
