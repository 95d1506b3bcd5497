import CloudModel
import Foundation
import Synchronization
import TestSupport

/// Runs `count` copies of `body` at once on a `ManualClock`, moving the clock to the next
/// sleeper's deadline whenever every copy is asleep or done. Returns the results in order
/// and the simulated time it took. It has no real-time deadline of its own: on a busy machine
/// the copies may wait long for a thread, and the suites' time limits catch a real hang.
func runOnManualClock<T: Sendable>(_ clock: ManualClock, count: Int,
                                   _ body: @escaping @Sendable (Int) async throws -> T)
    async -> (results: [Result<T, any Error>], elapsed: TimeInterval) {
    let start = clock.now()
    let finished = Counter()
    let results = await withTaskGroup(of: (Int, Result<T, any Error>).self) { group in
        for i in 0..<count {
            group.addTask {
                let result: Result<T, any Error>
                do { result = .success(try await body(i)) } catch { result = .failure(error) }
                finished.add()
                return (i, result)
            }
        }
        while !Task.isCancelled {
            let done = finished.value
            if done == count { break }
            if done + clock.sleeperCount == count {
                clock.advanceToNextDeadline()
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
        // Cancelled (a time limit): the copies still asleep end with CancellationError.
        group.cancelAll()
        var ordered = [Result<T, any Error>?](repeating: nil, count: count)
        for await (i, r) in group { ordered[i] = r }
        return ordered.map { $0! }
    }
    return (results, clock.now().timeIntervalSince(start))
}

/// A thread-safe count.
final class Counter: Sendable {
    private let count = Mutex(0)
    init() {}
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
