import Foundation
import Synchronization

/// A token bucket per caller: `perSecond` calls a second on average, `burst` at once. Keeps
/// at most `maxCallers` buckets (the longest unused go first).
public final class CallRateLimiter: Sendable {
    public let perSecond: Double
    public let burst: Double
    let maxCallers: Int
    private struct Bucket {
        var tokens: Double
        var last: ContinuousClock.Instant
    }
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(perSecond: Double, burst: Double, maxCallers: Int = 10_000) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
        self.maxCallers = maxCallers
    }

    /// Takes a token for `caller`: nil when the call may go ahead, else how long until one is free.
    public func take(_ caller: String, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLock { all in
            var bucket = all[caller] ?? Bucket(tokens: burst, last: now)
            let elapsed = Double((now - bucket.last).components.seconds) + Double((now - bucket.last).components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * perSecond)
            bucket.last = now
            defer {
                all[caller] = bucket
                if all.count > maxCallers, let oldest = all.min(by: { $0.value.last < $1.value.last })?.key { all[oldest] = nil }
            }
            guard bucket.tokens >= 1 else { return .seconds((1 - bucket.tokens) / max(perSecond, 0.001)) }
            bucket.tokens -= 1
            return nil
        }
    }
}

/// Counts what each caller holds open (watch streams), up to `limit` each.
public final class PerCallerSlots: Sendable {
    public let limit: Int
    private let held = Mutex<[String: Int]>([:])

    public init(limit: Int) { self.limit = limit }

    /// Takes a slot; false when `caller` already holds `limit`.
    public func acquire(_ caller: String) -> Bool {
        held.withLock { h in
            guard h[caller, default: 0] < limit else { return false }
            h[caller, default: 0] += 1
            return true
        }
    }

    public func release(_ caller: String) {
        held.withLock { h in
            let left = h[caller, default: 1] - 1
            h[caller] = left > 0 ? left : nil
        }
    }
}
