import GRDB
import Synchronization

/// The store's writes, one transaction each, reaching the file in the order they were made
/// (each waits for the one before), and not cancelled with the task that made them: a stage
/// or a release step that stops for a rollback or a shutdown still records where it stopped,
/// and a record left behind would be the wrong resume point after a crash. Deployment and
/// release saves go through the same chain.
final class OrderedWrites: Sendable {
    private let pool: DatabasePool
    /// The last write, which the next one waits for.
    private let last = Mutex<Task<Void, Never>?>(nil)

    init(_ pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `updates` in a write transaction after every write asked for before it.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let pool = self.pool
        let write: Task<T, any Error> = last.withLock { last in
            let previous = last
            let write = Task {
                await previous?.value
                return try await pool.write(updates)
            }
            last = Task { _ = try? await write.value }
            return write
        }
        return try await write.value
    }
}
