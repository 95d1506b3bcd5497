import CloudModel
import Foundation
import Synchronization
import Testing
import CloudRuntime
import TestSupport

@Suite("RetryMiddleware", .timeLimit(.minutes(3)))
struct RetryMiddlewareTests {
    let call = CloudCall("ecs", "UpdateService")

    /// Fails with `errors` in turn, then answers "ok"; counts attempts.
    final class Script: Sendable {
        let errors: Mutex<[any Error]>
        let attempts = Mutex(0)
        init(_ errors: [any Error]) { self.errors = Mutex(errors) }
        func run() throws -> String {
            attempts.withLock { $0 += 1 }
            if let next = errors.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw next }
            return "ok"
        }
    }

    static let throttled = CloudError(code: CloudError.throttling, message: "Rate exceeded", httpStatus: 400)

    @Test func validationErrorIsNotRetried() async throws {
        let clock = ManualClock()
        let script = Script([CloudError(code: CloudError.invalidParameter, message: "bad", httpStatus: 400)])
        let retry = RetryMiddleware(policy: RetryPolicy(maxRetries: 5), clock: clock)
        await #expect(throws: CloudError.self) { try await retry.intercept(call) { try script.run() } }
        #expect(script.attempts.withLock { $0 } == 1)
        #expect(clock.sleeperCount == 0)
    }

    @Test func notFoundAndNonCloudErrorsAreNotRetried() async {
        let clock = ManualClock()
        let retry = RetryMiddleware(policy: RetryPolicy(maxRetries: 5), clock: clock)
        let notFound = Script([CloudError.notFound(CloudError.serviceNotFound, "gone")])
        await #expect(throws: CloudError.self) { try await retry.intercept(call) { try notFound.run() } }
        struct Other: Error {}
        let other = Script([Other()])
        await #expect(throws: Other.self) { try await retry.intercept(call) { try other.run() } }
        #expect(notFound.attempts.withLock { $0 } == 1 && other.attempts.withLock { $0 } == 1)
    }

    @Test func throttledCallRetriesWithGrowingDelaysCappedAtMaxDelay() async throws {
        let clock = ManualClock()
        let delays = Mutex<[Double]>([])
        let policy = RetryPolicy(maxRetries: 5, baseDelay: .seconds(1), maxDelay: .seconds(4), timeout: .seconds(600))
        // The random source at its top: every backoff is its full cap.
        let retry = RetryMiddleware(policy: policy, clock: clock, random: { 1.0 },
                                    onRetry: { event in delays.withLock { $0.append(event.delay.seconds) } })
        let script = Script(Array(repeating: Self.throttled, count: 10))
        let call = self.call
        let (results, elapsed) = await runOnManualClock(clock, count: 1) { _ in
            try await retry.intercept(call) { try script.run() }
        }
        #expect(delays.withLock { $0 } == [1, 2, 4, 4, 4])
        #expect(script.attempts.withLock { $0 } == 6)
        #expect(abs(elapsed - 15) < 0.001)
        guard case .failure(let error as CloudError) = results[0] else {
            Issue.record("expected the throttling error, got \(results[0])")
            return
        }
        #expect(error.code == CloudError.throttling)
        #expect(error.message.contains("after 5 retries"))
    }

    @Test func fullJitterDrawsBelowTheCap() async throws {
        let clock = ManualClock()
        let delays = Mutex<[Double]>([])
        let draws = Mutex<[Double]>([0.5, 0.25, 0.0])
        let retry = RetryMiddleware(policy: RetryPolicy(maxRetries: 3, baseDelay: .seconds(2), maxDelay: .seconds(30)),
                                    clock: clock, random: { draws.withLock { $0.removeFirst() } },
                                    onRetry: { event in delays.withLock { $0.append(event.delay.seconds) } })
        let script = Script([Self.throttled, CloudError(code: "InternalFailure", message: "x", httpStatus: 500),
                             CloudError(code: "TransportError", message: "reset", httpStatus: 0)])
        let call = self.call
        let (results, _) = await runOnManualClock(clock, count: 1) { _ in try await retry.intercept(call) { try script.run() } }
        #expect(try results[0].get() == "ok")
        // caps 2, 4, 8 times the draws
        #expect(delays.withLock { $0 } == [1, 1, 0])
    }

    @Test func deadlineStopsRetrying() async throws {
        let clock = ManualClock()
        let policy = RetryPolicy(maxRetries: 10, baseDelay: .seconds(2), maxDelay: .seconds(30), timeout: .seconds(5))
        let retry = RetryMiddleware(policy: policy, clock: clock, random: { 1.0 })
        let script = Script(Array(repeating: CloudError(code: "RequestTimeout", message: "slow", httpStatus: 0), count: 10))
        let call = self.call
        let (results, elapsed) = await runOnManualClock(clock, count: 1) { _ in
            try await retry.intercept(call) { try script.run() }
        }
        // Retry 1 waits 2 s; retry 2 would wait 4 s more, past the 5 s deadline.
        #expect(script.attempts.withLock { $0 } == 2)
        #expect(abs(elapsed - 2) < 0.001)
        guard case .failure(let error as CloudError) = results[0] else { Issue.record("expected failure"); return }
        #expect(error.message.contains("deadline"))
    }
}
