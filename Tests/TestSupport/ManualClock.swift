import CloudModel
import Foundation
import Synchronization

/// A clock that moves only when told to (tests). Sleepers wake, in deadline order, when
/// `advance(by:)` moves the time past their deadline.
public final class ManualClock: DeployClock {
    private struct Sleeper {
        let id: UInt64
        let deadline: Date
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var nextID: UInt64 = 0
        /// Latest deadline first, so that the next to wake is the last (for equal deadlines,
        /// the first to sleep wakes first).
        var sleepers: [Sleeper] = []
        var cancelled: Set<UInt64> = []
        /// Bumped whenever a task goes to sleep or is woken.
        var activity: UInt64 = 0

        /// Keeps `sleepers` in order: O(log n) to find the place, a move of the later part.
        mutating func insert(_ sleeper: Sleeper) {
            var low = 0, high = sleepers.count
            while low < high {
                let mid = (low + high) / 2
                if sleepers[mid].deadline > sleeper.deadline { low = mid + 1 } else { high = mid }
            }
            sleepers.insert(sleeper, at: low)
        }
    }

    private let state: Mutex<State>

    public init(start: Date = Date(timeIntervalSince1970: 1_750_000_000)) {
        state = Mutex(State(now: start))
    }

    public func now() -> Date { state.withLock { $0.now } }

    /// How many tasks are asleep on this clock right now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// A counter that moves whenever a task goes to sleep on this clock or is woken: a driver
    /// that sees it unchanged over a pause knows that the tasks it woke have gone back to sleep
    /// (or ended) rather than still being at work.
    public var activity: UInt64 { state.withLock { $0.activity } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        guard duration > .zero else { return }
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { s in
                    if s.cancelled.remove(id) != nil { return true }
                    s.insert(Sleeper(id: id, deadline: s.now.adding(duration), continuation: c))
                    s.activity &+= 1
                    return false
                }
                if resumeNow { c.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { s in
                if let i = s.sleepers.firstIndex(where: { $0.id == id }) { return s.sleepers.remove(at: i) }
                s.cancelled.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come.
    public func advance(by duration: Duration) {
        let due: [Sleeper] = state.withLock { s in
            s.now = s.now.adding(duration)
            let now = s.now
            var due: [Sleeper] = []
            while let last = s.sleepers.last, last.deadline <= now { due.append(s.sleepers.removeLast()) }
            if !due.isEmpty { s.activity &+= 1 }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits, in real time, until the tasks this clock woke are quiet again: its activity
    /// counter unchanged over a pause of `quiet`, for at most `limit`. Drivers call it after
    /// moving time, so that time does not run ahead of work that is running rather than asleep.
    public func settle(quiet: Duration = .microseconds(300), limit: Duration = .milliseconds(50)) async {
        let deadline = ContinuousClock.now + limit
        var last = activity
        while ContinuousClock.now < deadline {
            await Task.yield()
            try? await Task.sleep(for: quiet)
            let current = activity
            if current == last { return }
            last = current
        }
    }

    /// Moves time to the earliest sleeper's deadline and wakes it (and any other sleeper due
    /// then). Returns false, leaving time alone, when nobody sleeps.
    /// With `maxStep`, time moves at most that far (a far deadline is approached in steps, so
    /// that work which is running rather than sleeping does not see time leap).
    @discardableResult
    public func advanceToNextDeadline(maxStep: Duration? = nil) -> Bool {
        let next: Date? = state.withLock { s in s.sleepers.last?.deadline }
        guard let next else { return false }
        var step = max(0, next.timeIntervalSince(now()))
        if let maxStep { step = min(step, maxStep.seconds) }
        advance(by: .seconds(step))
        return true
    }
}
