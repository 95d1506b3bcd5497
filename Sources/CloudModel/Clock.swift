import Foundation
import Synchronization

/// The source of time for the engine and the simulator. Injected everywhere, so that a
/// 30-minute canary runs in milliseconds under a test clock.
public protocol DeployClock: Sendable {
    func now() -> Date
    /// Sleeps for `duration` of this clock's time. Throws `CancellationError` when cancelled.
    func sleep(for duration: Duration) async throws
    /// Work passes to `count` tasks that this clock did not wake: tasks started, waiters
    /// resumed; each takes it up (`takeUp`) as it runs. A clock that moves only when told
    /// (tests, the benchmark) counts it as work in progress until then; real clocks ignore it.
    func handOff(_ count: Int)
    /// The calling task takes up work: work handed off to it (`handedOff`), else its own (it
    /// goes on after a wait that did not suspend it).
    func takeUp(handedOff: Bool)
    /// The calling task's work is over for now: it ends, or waits on something other than
    /// this clock (whoever wakes it hands the work back). Returns whether it had work to give
    /// back (then the waker hands work off to it, and it takes it up).
    @discardableResult
    func workDone() -> Bool
}

extension DeployClock {
    public func handOff(_ count: Int) {}
    public func takeUp(handedOff: Bool) {}
    @discardableResult
    public func workDone() -> Bool { false }
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

/// A task that waits for its child tasks: while it waits its work is theirs (given back to
/// the clock), and the first child to end hands it back (see `DeployClock.handOff`).
public final class ParentWait: Sendable {
    private enum State { case working, gaveBack, handedBack }
    private let clock: any DeployClock
    private let state = Mutex(State.working)

    public init(clock: any DeployClock) { self.clock = clock }

    /// The parent is about to wait for a child.
    public func waits() {
        let gaveBack = clock.workDone()
        state.withLock { $0 = gaveBack ? .gaveBack : .working }
    }

    /// A child ends (call before its own `workDone`).
    public func childEnds() {
        let handBack = state.withLock { s -> Bool in
            guard s == .gaveBack else { return false }
            s = .handedBack
            return true
        }
        if handBack { clock.handOff(1) }
    }

    /// The parent's wait is over: it takes its work up again (handed back by a child, or its
    /// own when it did not have to wait).
    public func resumes() {
        let was = state.withLock { s -> State in
            defer { s = .working }
            return s
        }
        switch was {
        case .handedBack: clock.takeUp(handedOff: true)
        case .gaveBack: clock.takeUp(handedOff: false)
        case .working: break
        }
    }
}
