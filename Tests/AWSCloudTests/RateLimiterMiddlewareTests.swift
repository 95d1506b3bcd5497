import CloudModel
import Foundation
import Synchronization
import Testing
import CloudRuntime
import TestSupport

@Suite("RateLimiterMiddleware", .timeLimit(.minutes(3)))
struct RateLimiterMiddlewareTests {
    @Test func burstOfRegistrationsIsPacedToFitAWSBuckets() async throws {
        let clock = ManualClock()
        let limiter = RateLimiterMiddleware(limits: .aws, clock: clock)
        // AWS's own enforcement of the same buckets, on the same clock.
        let aws = ThrottleEnforcer(limits: .aws, clock: clock)
        let call = CloudCall("ecs", "RegisterTaskDefinition")
        let (results, elapsed) = await runOnManualClock(clock, count: 25) { _ in
            try await limiter.intercept(call) { try await aws.intercept(call) { "registered" } }
        }
        let throttled = results.filter { if case .failure = $0 { true } else { false } }
        #expect(throttled.isEmpty, "throttled: \(throttled)")
        // 20 at once (the burst), then 1 a second.
        #expect(elapsed > 4.9 && elapsed < 5.2, "took \(elapsed) s")
    }

    @Test func callsOutsideAnyCategoryAreNotPaced() async throws {
        let clock = ManualClock()
        let limiter = RateLimiterMiddleware(limits: .aws, clock: clock)
        let call = CloudCall("sts", "GetCallerIdentity")
        for _ in 0..<500 { _ = try await limiter.intercept(call) { 1 } }
        #expect(clock.sleeperCount == 0)
    }

    @Test func throttlingSlowsTheCategoryAndItRecovers() async throws {
        let clock = ManualClock()
        let limiter = RateLimiterMiddleware(limits: .aws, clock: clock, recoveryStep: 0.1, recoveryInterval: .seconds(10))
        let call = CloudCall("ecs", "UpdateService")
        _ = try await limiter.intercept(call) { 1 }
        #expect(limiter.rateFactor(of: "ecs.service-mutations") == 1)
        await #expect(throws: CloudError.self) {
            try await limiter.intercept(call) { () throws -> Int in
                throw CloudError(code: CloudError.throttling, message: "Rate exceeded")
            }
        }
        #expect(limiter.rateFactor(of: "ecs.service-mutations") == 0.5)
        // A burst of throttles within a second is one signal.
        await #expect(throws: CloudError.self) {
            try await limiter.intercept(call) { () throws -> Int in
                throw CloudError(code: CloudError.throttling, message: "Rate exceeded")
            }
        }
        #expect(limiter.rateFactor(of: "ecs.service-mutations") == 0.5)
        clock.advance(by: .seconds(21))
        _ = try await limiter.intercept(call) { 1 }
        #expect(abs((limiter.rateFactor(of: "ecs.service-mutations") ?? 0) - 0.7) < 1e-9)
    }

    @Test func slowedCategoryPacesAtTheLowerRate() async throws {
        let clock = ManualClock()
        let limits = RateLimits(limits: ["c": RateLimit(capacity: 4, refillPerSecond: 2)], categories: ["ecs:UpdateService": "c"])
        let limiter = RateLimiterMiddleware(limits: limits, clock: clock, minimumFactor: 0.25)
        let call = CloudCall("ecs", "UpdateService")
        await #expect(throws: CloudError.self) {
            try await limiter.intercept(call) { () throws -> Int in throw CloudError(code: "Throttling", message: "slow down") }
        }
        // Now capacity 2, refill 1/s, holding the 3 tokens the first call left (capped at 2).
        let (results, elapsed) = await runOnManualClock(clock, count: 6) { _ in try await limiter.intercept(call) { 1 } }
        #expect(results.allSatisfy { (try? $0.get()) == 1 })
        #expect(elapsed > 3.9 && elapsed < 4.2, "took \(elapsed) s")
    }
}
