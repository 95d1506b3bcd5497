import GRDB
import Synchronization

/// The store's writes, reaching the file in the order they were made, and not cancelled with
/// the task that made them: a stage or a release step that stops for a rollback or a shutdown
/// still records where it stopped, and a record left behind would be the wrong resume point
/// after a crash. Deployment and release saves go through the same queue.
///
/// Group commit: the writes asked for while a transaction is being committed go together into
/// the next one (at most `batchLimit`), so that many deployments' saves share one fsync. Each
/// write runs in a savepoint of its own: one that throws is undone alone and its caller gets
/// the error; a commit that fails fails every write of the transaction. A caller resumes only
/// once its write is committed (durable, with `synchronous = FULL`).
final class OrderedWrites: Sendable {
    private let pool: DatabasePool
    private let batchLimit: Int
    private let queue = Mutex(Queue())
    private let waiting = Atomic<Int>(0)

    private struct Queue {
        var pending: [Pending] = []
        var draining = false
    }

    /// One write: runs its updates in a savepoint (keeping the result), then hears how the
    /// transaction ended.
    private struct Pending: Sendable {
        let apply: @Sendable (Database) -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    init(_ pool: DatabasePool, batchLimit: Int = 512) {
        self.pool = pool
        self.batchLimit = batchLimit
    }

    /// Writes asked for and not committed yet.
    var pendingWrites: Int { waiting.load(ordering: .relaxed) }

    /// Runs `updates` in the next transaction, after every write asked for before it.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pending = Pending(apply: { db in
                do {
                    var value: T?
                    try db.inSavepoint {
                        value = try updates(db)
                        return .commit
                    }
                    outcome.withLock { $0 = .success(value!) }
                } catch {
                    outcome.withLock { $0 = .failure(error) }
                }
            }, finish: { commitError in
                if let commitError { return continuation.resume(throwing: commitError) }
                continuation.resume(with: outcome.withLock { $0 } ?? .failure(CancellationError()))
            })
            waiting.add(1, ordering: .relaxed)
            let start: Bool = queue.withLock { q in
                q.pending.append(pending)
                if q.draining { return false }
                q.draining = true
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    /// Commits the queued writes, a transaction at a time, until none is left.
    private func drain() async {
        while true {
            let batch: [Pending] = queue.withLock { q in
                guard !q.pending.isEmpty else {
                    q.draining = false
                    return []
                }
                let taken = Array(q.pending.prefix(batchLimit))
                q.pending.removeFirst(taken.count)
                return taken
            }
            if batch.isEmpty { return }
            var failure: (any Error)?
            do {
                try await pool.write { db in for pending in batch { pending.apply(db) } }
            } catch {
                failure = error
            }
            waiting.subtract(batch.count, ordering: .relaxed)
            for pending in batch { pending.finish(failure) }
        }
    }
}
