import CloudModel
import Foundation

/// How often and how patiently a failed cloud call is tried again (`aws.max_retries`,
/// `aws.retry_delay`, `aws.max_retry_delay`, `aws.timeout`).
public struct RetryPolicy: Sendable, Equatable {
    /// Retries after the first attempt.
    public var maxRetries: Int
    /// Upper bound of the first backoff; each retry doubles it.
    public var baseDelay: Duration
    /// The backoff never exceeds this.
    public var maxDelay: Duration
    /// A call, retries included, gives up rather than sleep past this (nil: no deadline).
    public var timeout: Duration?

    public init(maxRetries: Int = 3, baseDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(30),
                timeout: Duration? = .seconds(30)) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.timeout = timeout
    }

    /// The most that retry `n` (1, 2, ...) waits: `min(maxDelay, baseDelay * 2^(n-1))`.
    public func backoffCap(forRetry n: Int) -> Duration {
        let exponent = Double(max(0, n - 1))
        return .seconds(min(maxDelay.seconds, baseDelay.seconds * pow(2, min(exponent, 62))))
    }
}

/// One retry, as told to an observer (logs, metrics, tests).
public struct RetryEvent: Sendable {
    public var call: CloudCall
    /// 1 for the first retry.
    public var retry: Int
    public var delay: Duration
    public var error: CloudError
}

/// Tries a call again when it fails with a retryable `CloudError` (throttling, 5xx,
/// transport errors, timeouts), after an exponential backoff with full jitter: retry n
/// sleeps a random time in [0, min(maxDelay, baseDelay * 2^(n-1))] on the injected clock.
/// Validation, permission and not-found errors are thrown at once; so is anything that is
/// not a `CloudError`.
public struct RetryMiddleware: CloudMiddleware {
    public let policy: RetryPolicy
    private let clock: any DeployClock
    private let random: @Sendable () -> Double
    private let onRetry: (@Sendable (RetryEvent) -> Void)?

    /// `random` gives a number in [0, 1) (injectable for tests).
    public init(policy: RetryPolicy, clock: any DeployClock, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                onRetry: (@Sendable (RetryEvent) -> Void)? = nil) {
        self.policy = policy
        self.clock = clock
        self.random = random
        self.onRetry = onRetry
    }

    public func intercept<T: Sendable>(_ call: CloudCall, _ next: @Sendable () async throws -> T) async throws -> T {
        let started = clock.now()
        var retries = 0
        while true {
            do {
                return try await next()
            } catch let error as CloudError {
                guard error.isRetryable else { throw error }
                guard retries < policy.maxRetries else { throw Self.gaveUp(error, retries: retries, why: nil) }
                let cap = policy.backoffCap(forRetry: retries + 1)
                let delay = Duration.seconds(cap.seconds * min(1, max(0, random())))
                if let timeout = policy.timeout, clock.now().adding(delay) >= started.adding(timeout) {
                    throw Self.gaveUp(error, retries: retries, why: "the \(timeout) deadline")
                }
                retries += 1
                onRetry?(RetryEvent(call: call, retry: retries, delay: delay, error: error))
                try await clock.sleep(for: delay)
            }
        }
    }

    /// The last error, saying how many retries it took.
    private static func gaveUp(_ error: CloudError, retries: Int, why: String?) -> CloudError {
        guard retries > 0 || why != nil else { return error }
        var copy = error
        let reason = why.map { ", stopped by \($0)" } ?? ""
        copy.message += " (after \(retries) \(retries == 1 ? "retry" : "retries")\(reason))"
        return copy
    }
}
