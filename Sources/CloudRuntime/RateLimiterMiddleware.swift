import CloudModel
import Foundation
import Synchronization

/// Client-side pacing of cloud calls with one token bucket per API category (`RateLimits`,
/// AWS's published throttles by default). A call reserves a token with `TokenBucket.reserve`
/// and sleeps, on the injected clock, until its token is due, so a burst of calls is spread
/// out to fit the bucket instead of being throttled. When a throttling error still comes
/// back (another client shares the account's buckets), the category slows down: its refill
/// rate and burst are halved (down to `minimumFactor`) and recover by `recoveryStep` every
/// `recoveryInterval` without throttling. Share one instance across the process.
public final class RateLimiterMiddleware: CloudMiddleware {
    public let limits: RateLimits
    public let minimumFactor: Double
    public let recoveryStep: Double
    public let recoveryInterval: Duration
    private let clock: any DeployClock
    private let buckets: Mutex<[String: PacedBucket]>

    public init(limits: RateLimits = .aws, clock: any DeployClock, minimumFactor: Double = 0.1, recoveryStep: Double = 0.1,
                recoveryInterval: Duration = .seconds(10)) {
        self.limits = limits
        self.clock = clock
        self.minimumFactor = minimumFactor
        self.recoveryStep = recoveryStep
        self.recoveryInterval = recoveryInterval
        self.buckets = Mutex([:])
    }

    public func intercept<T: Sendable>(_ call: CloudCall, _ next: @Sendable () async throws -> T) async throws -> T {
        guard let category = limits.category(of: call), let limit = limits.limits[category] else {
            return try await next()
        }
        let now = clock.now()
        let wait = buckets.withLock { all -> Duration in
            var bucket = all[category] ?? PacedBucket(nominal: limit)
            bucket.recover(at: now, step: recoveryStep, interval: recoveryInterval.seconds)
            let wait = bucket.reserve(at: now)
            all[category] = bucket
            return wait
        }
        // A hair past the due time, so that a server-side bucket on the same clock has refilled.
        if wait > .zero { try await clock.sleep(for: wait + .milliseconds(1)) }
        do {
            return try await next()
        } catch let error as CloudError where error.isThrottling {
            let at = clock.now()
            buckets.withLock { all in
                guard var bucket = all[category] else { return }
                bucket.slowDown(at: at, minimumFactor: minimumFactor)
                all[category] = bucket
            }
            throw error
        }
    }

    /// The share (1 = nominal) of a category's rate currently used; nil before its first call.
    public func rateFactor(of category: String) -> Double? {
        buckets.withLock { $0[category]?.factor }
    }
}

/// A category's bucket at a rate `factor` times its nominal limit.
struct PacedBucket: Sendable {
    let nominal: RateLimit
    private(set) var factor: Double = 1
    private var bucket: TokenBucket
    /// The last time the bucket was used (its tokens are as of then).
    private var usedAt: Date?
    private var adjustedAt: Date?

    init(nominal: RateLimit) {
        self.nominal = nominal
        self.bucket = TokenBucket(capacity: nominal.capacity, refillPerSecond: nominal.refillPerSecond)
    }

    mutating func reserve(at now: Date) -> Duration {
        if let usedAt, now < usedAt { return bucket.reserve(at: usedAt) + .seconds(usedAt.timeIntervalSince(now)) }
        usedAt = now
        return bucket.reserve(at: now)
    }

    /// Halves the rate, at most once a second (a burst of throttles is one signal).
    mutating func slowDown(at now: Date, minimumFactor: Double) {
        if let adjustedAt, now.timeIntervalSince(adjustedAt) < 1, factor < 1 { return }
        rebuild(factor: max(minimumFactor, factor / 2), at: now)
    }

    /// Gives back `step` of the nominal rate for every `interval` seconds without throttling.
    mutating func recover(at now: Date, step: Double, interval: Double) {
        guard factor < 1, let adjustedAt, interval > 0 else { return }
        let steps = (now.timeIntervalSince(adjustedAt) / interval).rounded(.down)
        guard steps >= 1 else { return }
        rebuild(factor: min(1, factor + steps * step), at: now)
    }

    /// A bucket at the new rate holding the tokens (or the debt) the old one had now.
    private mutating func rebuild(factor newFactor: Double, at now: Date) {
        var current = bucket.tokens
        if let usedAt, now > usedAt {
            current = min(bucket.capacity, current + now.timeIntervalSince(usedAt) * bucket.refillPerSecond)
        }
        var fresh = TokenBucket(capacity: max(1, nominal.capacity * newFactor),
                                refillPerSecond: nominal.refillPerSecond * newFactor)
        // TokenBucket starts full; reserving takes it down to what the old bucket held
        // (rounded towards fewer tokens), debt included.
        var owed = fresh.capacity - min(fresh.capacity, current)
        while owed > 0 {
            _ = fresh.reserve(at: max(now, usedAt ?? now))
            owed -= 1
        }
        bucket = fresh
        factor = newFactor
        usedAt = max(now, usedAt ?? now)
        adjustedAt = now
    }
}
