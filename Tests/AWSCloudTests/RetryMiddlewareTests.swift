import AWSAuth
import AWSCloud
import MotoHarness
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

/// The pre-flight's calls go through the server's retries: a transient failure of STS is not
/// taken for AWS refusing the credentials.
@Suite struct PreflightRetryTests {
    final class FlakyIdentity: IdentityAPI {
        let failures: Int
        private let count = Mutex(0)
        init(failures: Int) { self.failures = failures }
        var calls: Int { count.withLock { $0 } }
        func getCallerIdentity() async throws -> CallerIdentity {
            let n = count.withLock { $0 += 1; return $0 }
            if n <= failures { throw CloudError(code: "InternalFailure", message: "We encountered an internal error.", httpStatus: 500) }
            return CallerIdentity(account: "123456789012", arn: "arn:aws:iam::123456789012:root", userId: "123456789012")
        }
    }

    @Test func aTransientFailureOfTheCredentialCheckIsRetried() async throws {
        // The root user: no IAM call follows (a warning says why), so IAM is never reached.
        let factory = AWSCloudFactory(environment: try AWSEnvironment(environment: ["AWS_REGION": "us-east-1"], configuredRegion: nil,
                                                                      configuredEndpoint: "http://127.0.0.1:9"),
                                      credentials: StaticCredentials())
        let retry = RetryMiddleware(policy: RetryPolicy(maxRetries: 3, baseDelay: .zero, maxDelay: .zero, timeout: nil), clock: SystemClock())
        let flaky = FlakyIdentity(failures: 2)
        let findings = await AWSPreflight(identity: flaky, iam: factory.iam, middleware: [retry]).run()
        #expect(findings.first?.check == "credentials" && findings.first?.severity == .ok, "\(findings)")
        #expect(flaky.calls == 3)
        #expect(findings.preflightPassed, "\(findings)")
        // Without the retries, the same failure refuses the credentials.
        let once = await AWSPreflight(identity: FlakyIdentity(failures: 1), iam: factory.iam).run()
        #expect(once.first?.severity == .failure && !once.preflightPassed)
    }
}
