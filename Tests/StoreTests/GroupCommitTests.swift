import Engine
import Foundation
import GRDB
@testable import Store
import Synchronization
import Testing

/// Saves made together share a transaction (group commit); each still succeeds or fails alone.
@Suite struct GroupCommitTests {
    @Test func concurrentSavesAllLandAndShareTransactions() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("group.sqlite").path
        let store = try SQLiteDeploymentStore(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { try await store.save(Fixtures.record(id: "d-\(i)", created: Double(i))) }
            }
            try await group.waitForAll()
        }
        #expect(store.pendingWrites == 0)
        let stored = try Fixtures.read(path) { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deployments") }
        #expect(stored == 200)
        let loaded = try await store.list(DeploymentFilter(), limit: 500, offset: 0)
        #expect(Set(loaded.map(\.id)) == Set((0..<200).map { "d-\($0)" }))
    }

    /// A write that throws is undone alone: the writes of the same transaction land.
    @Test func aFailingWriteFailsAlone() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let pool = try DatabasePool(path: folder.appendingPathComponent("w.sqlite").path)
        try await pool.write { db in try db.execute(sql: "CREATE TABLE t (n INTEGER PRIMARY KEY)") }
        let writes = OrderedWrites(pool)
        let counter = CommitCounter()
        pool.add(transactionObserver: counter)
        struct Refused: Error {}
        // The first write holds the writer until the 50 others are queued: they go in one transaction.
        let gate = DispatchSemaphore(value: 0)
        let entered = Atomic<Bool>(false)
        let first = Task {
            try await writes.write { db in
                entered.store(true, ordering: .relaxed)
                gate.wait()
                try db.execute(sql: "INSERT INTO t (n) VALUES (-1)")
            }
        }
        while !entered.load(ordering: .relaxed) { await Task.yield() }
        let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for n in 0..<50 {
                group.addTask {
                    do {
                        try await writes.write { db in
                            try db.execute(sql: "INSERT INTO t (n) VALUES (?)", arguments: [n])
                            if n % 10 == 3 { throw Refused() }
                        }
                        return (n, true)
                    } catch is Refused {
                        return (n, false)
                    }
                }
            }
            while writes.pendingWrites < 51 { await Task.yield() }
            gate.signal()
            return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        try await first.value
        #expect(outcomes.filter { !$0.value }.keys.sorted() == [3, 13, 23, 33, 43])
        let rows = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT n FROM t ORDER BY n") }
        #expect(rows == [-1] + (0..<50).filter { $0 % 10 != 3 })
        #expect(counter.commits.load(ordering: .relaxed) == 2)
        #expect(writes.pendingWrites == 0)
    }

    final class CommitCounter: TransactionObserver, Sendable {
        let commits = Atomic<Int>(0)
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { commits.add(1, ordering: .relaxed) }
        func databaseDidRollback(_ db: Database) {}
    }
}

/// A commit waits for the disk: the connection that writes runs with `synchronous = FULL`
/// (GRDB's WAL set-up turns it to NORMAL, where an acknowledged save can be lost with the
/// machine).
@Suite struct DurabilityTests {
    @Test func theWritingConnectionSyncsEachCommit() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let store = try SQLiteDeploymentStore(path: folder.appendingPathComponent("s.sqlite").path)
        let level = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(level == 2)  // FULL
    }
}
