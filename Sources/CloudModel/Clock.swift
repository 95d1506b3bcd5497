import Foundation
import Synchronization

/// The source of time for the engine and the simulator. Injected everywhere, so that a
/// 30-minute canary runs in milliseconds under a test clock.
public protocol DeployClock: Sendable {
    func now() -> Date
    /// Sleeps for `duration` of this clock's time. Throws `CancellationError` when cancelled.
    func sleep(for duration: Duration) async throws
}

extension Duration {
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// Saturating: NaN is zero, and values past ±292 years (Int64 nanoseconds) are clamped, so
    /// that no input can trap here.
    public static func seconds(_ value: Double) -> Duration {
        let ns = (value * 1e9).rounded()
        guard ns.isFinite else { return ns.isNaN ? .zero : (ns > 0 ? .nanoseconds(Int64.max) : .nanoseconds(Int64.min)) }
        if ns >= 9.2e18 { return .nanoseconds(Int64.max) }
        if ns <= -9.2e18 { return .nanoseconds(Int64.min) }
        return .nanoseconds(Int64(ns))
    }
}

extension Date {
    public func adding(_ duration: Duration) -> Date { addingTimeInterval(duration.seconds) }
}

/// Wall-clock time.
public struct SystemClock: DeployClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(for duration: Duration) async throws {
        guard duration > .zero else { return try Task.checkCancellation() }
        try await Task.sleep(for: duration)
    }
}

/// Time that runs `speedup` times faster than the wall clock (mock mode).
public struct ScaledClock: DeployClock {
    public let speedup: Double
    private let startDate: Date
    private let startInstant: ContinuousClock.Instant

    public init(speedup: Double, start: Date = Date()) {
        precondition(speedup > 0)
        self.speedup = speedup
        self.startDate = start
        self.startInstant = ContinuousClock.now
    }

    public func now() -> Date {
        startDate.addingTimeInterval(startInstant.duration(to: ContinuousClock.now).seconds * speedup)
    }

    public func sleep(for duration: Duration) async throws {
        guard duration > .zero else { return try Task.checkCancellation() }
        try await Task.sleep(for: .seconds(duration.seconds / speedup))
    }
}
