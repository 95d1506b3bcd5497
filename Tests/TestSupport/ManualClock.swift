import CloudModel
import Foundation
import Synchronization

/// A clock that moves only when told to (tests). Sleepers wake, in deadline order, when
/// `advance(by:)` moves the time past their deadline.
///
/// It also keeps the explicit signal its drivers move time on (`isIdle`, `waitUntilIdle`): a
/// task it wakes holds a credit until it sleeps on the clock again or says `workDone` (it
/// ends, or waits on other work); work handed off (`handOff`: a task started, waiters resumed)
/// is a credit until the task it goes to takes it up (`takeUp`) as its own. Time moves once no
/// credit is held: nothing the last move set going is still at work.
public final class ManualClock: DeployClock {
    private struct Sleeper {
        let id: UInt64
        let deadline: Date
        /// The sleeping task (its hash), which gets the credit when woken.
        let task: Int?
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var nextID: UInt64 = 0
        /// Latest deadline first, so that the next to wake is the last (for equal deadlines,
        /// the first to sleep wakes first).
        var sleepers: [Sleeper] = []
        var cancelled: Set<UInt64> = []
        /// Credits of the tasks this clock woke, by task.
        var credits: [Int: Int] = [:]
        /// Credits of work handed off and not yet taken up.
        var floating = 0

        /// The task's credit is given back; false when it held none.
        mutating func release(_ task: Int?) -> Bool {
            guard let task, let held = credits[task] else { return false }
            credits[task] = held > 1 ? held - 1 : nil
            return true
        }

        mutating func credit(_ task: Int?) {
            if let task { credits[task, default: 0] += 1 } else { floating += 1 }
        }

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

    /// Whether no work that this clock set going (or that was handed off) is still at work.
    public var isIdle: Bool { state.withLock { $0.credits.isEmpty && $0.floating == 0 } }

    /// How many times `waitUntilIdle` gave up waiting (work that never said it was done).
    public var idleWaitsGivenUp: Int { gaveUp.load(ordering: .relaxed) }

    /// The credits held now, for a failure's message: tasks' and handed-off ones.
    public var heldCredits: (tasks: Int, handedOff: Int) { state.withLock { ($0.credits.values.reduce(0, +), $0.floating) } }
    private let gaveUp = Atomic<Int>(0)

    public func handOff(_ count: Int) {
        guard count > 0 else { return }
        state.withLock { $0.floating += count }
    }

    public func takeUp(handedOff: Bool) {
        let task = Self.currentTask
        state.withLock { s in
            if handedOff {
                guard s.floating > 0 else { return }
                s.floating -= 1
            }
            s.credit(task)
        }
    }

    @discardableResult
    public func workDone() -> Bool {
        let task = Self.currentTask
        return state.withLock { $0.release(task) }
    }

    /// Waits (in real time) until `isIdle`. `limit` is a safety net, not the signal: after it,
    /// it gives up (counted in `idleWaitsGivenUp`: work that never said it was done, a bug that
    /// the tests report) and returns false.
    @discardableResult
    public func waitUntilIdle(limit: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !isIdle {
            if ContinuousClock.now >= deadline {
                gaveUp.add(1, ordering: .relaxed)
                return false
            }
            await Task.yield()
            try? await Task.sleep(for: .microseconds(20))
        }
        return true
    }

    /// The calling task, by its hash (a task that ended may share it with a later one: that
    /// one then gives back a credit the ended one left, which is what the signal wants).
    private static var currentTask: Int? { withUnsafeCurrentTask { $0?.hashValue } }

    /// How many tasks are asleep on this clock right now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        guard duration > .zero else { return }
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        let task = Self.currentTask
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { s in
                    if s.cancelled.remove(id) != nil { return true }
                    s.insert(Sleeper(id: id, deadline: s.now.adding(duration), task: task, continuation: c))
                    _ = s.release(task)
                    return false
                }
                if resumeNow { c.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { s in
                if let i = s.sleepers.firstIndex(where: { $0.id == id }) {
                    // Woken by its cancellation: at work again until it sleeps or is done.
                    s.credit(s.sleepers[i].task)
                    return s.sleepers.remove(at: i)
                }
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
            for sleeper in due { s.credit(sleeper.task) }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
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
