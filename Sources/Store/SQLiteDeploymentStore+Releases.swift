import Engine
import Foundation
import GRDB

/// Releases live in the same file as the deployments, and their saves go through the same
/// ordered writes. A release is a row of `releases` (its state, with the request's entries
/// apart) and a row per entry and per event (schema v4): a change writes the rows it
/// changed, whatever the size of the release.
extension SQLiteDeploymentStore: ReleaseStore {
    /// Writes the change in one transaction, after the saves made before it; a change older
    /// than the stored state (a lower `revision`) is not written over it.
    public func save(_ change: ReleaseChange) async throws {
        let rows = try ReleaseRows(change)
        try await writes.write { db in try rows.write(in: db) }
    }

    public func loadRelease(id: String) async throws -> ReleaseRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, record, request_entries FROM releases WHERE id = ?", arguments: [id])
                .map { try ReleaseRows.read($0, in: db) }
        }
    }

    public func releaseIDs(startingWith prefix: String, limit: Int) async throws -> [String] {
        let pattern = prefix.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        return try await pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM releases WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
                                arguments: [pattern, limit])
        }
    }

    public func listReleases(limit: Int, offset: Int) async throws -> [ReleaseRecord] {
        guard limit > 0 else { return [] }
        // rowid: the order of first saves, for releases created at the same instant.
        return try await fetchReleases(sql: """
            SELECT id, record, request_entries FROM releases ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?
            """, arguments: [limit, max(0, offset)])
    }

    public func unfinishedReleases() async throws -> [ReleaseRecord] {
        let open = FilterQuery.statusList(DeploymentStatus.allCases.filter { !$0.isTerminal })
        return try await fetchReleases(sql: """
            SELECT id, record, request_entries FROM releases WHERE status IN \(open) ORDER BY created_at, rowid
            """, arguments: [])
    }

    /// Entries and events go with their release (foreign keys, ON DELETE CASCADE).
    public func purgeReleases(finishedBefore date: Date) async throws -> Int {
        let final = FilterQuery.statusList(DeploymentStatus.allCases.filter(\.isTerminal))
        let cutoff = StoreCoding.column(date)
        return try await writes.write { db in
            try db.execute(sql: "DELETE FROM releases WHERE status IN \(final) AND COALESCE(finished_at, updated_at) < ?",
                           arguments: [cutoff])
            return db.changesCount
        }
    }

    private func fetchReleases(sql: String, arguments: StatementArguments) async throws -> [ReleaseRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { try ReleaseRows.read($0, in: db) }
        }
    }
}

/// A release change as rows, encoded before the write transaction; and a release read back
/// from its rows.
struct ReleaseRows: Sendable {
    let change: ReleaseChange
    /// The release without its request's entries, its entries and its events.
    let state: String
    /// The request's entries, written with a whole change only.
    let requestEntries: String?
    let entries: [(position: Int, json: String)]
    let events: [(sequence: Int, json: String)]

    init(_ change: ReleaseChange) throws {
        self.change = change
        var bare = change.release
        bare.request.entries = []
        state = try StoreCoding.encode(bare)
        requestEntries = change.isWhole ? try StoreCoding.encode(change.release.request.entries) : nil
        entries = try change.entries.map { ($0.index, try StoreCoding.encode($0.state)) }
        events = try change.events.map { ($0.sequence, try StoreCoding.encode($0)) }
    }

    /// Inside the caller's transaction.
    func write(in db: Database) throws {
        let release = change.release
        let id = release.id
        let stored = try Int.fetchOne(db.cachedStatement(sql: "SELECT revision FROM releases WHERE id = ?"), arguments: [id])
        if let stored, stored > change.revision { return }
        let columns: [(any DatabaseValueConvertible)?] = [
            release.request.name, release.status.rawValue, StoreCoding.column(release.createdAt),
            StoreCoding.column(release.updatedAt), release.finishedAt.map(StoreCoding.column), change.revision, state,
        ]
        if let requestEntries {
            // An upsert, not `INSERT OR REPLACE`: replacing would delete the row and, by
            // cascade, its entries and events.
            try db.cachedStatement(sql: """
                INSERT INTO releases (name, status, created_at, updated_at, finished_at, revision, record, request_entries, id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    name = excluded.name, status = excluded.status, created_at = excluded.created_at,
                    updated_at = excluded.updated_at, finished_at = excluded.finished_at, revision = excluded.revision,
                    record = excluded.record, request_entries = excluded.request_entries
                """).execute(arguments: StatementArguments(columns + [requestEntries, id]))
            try db.execute(sql: "DELETE FROM release_entries WHERE release_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM release_events WHERE release_id = ?", arguments: [id])
        } else {
            guard stored != nil else { throw ReleaseNotStored(id: id) }
            try db.cachedStatement(sql: """
                UPDATE releases SET name = ?, status = ?, created_at = ?, updated_at = ?, finished_at = ?, revision = ?, record = ?
                WHERE id = ?
                """).execute(arguments: StatementArguments(columns + [id]))
        }
        let entry = try db.cachedStatement(sql: """
            INSERT INTO release_entries (release_id, position, state) VALUES (?, ?, ?)
            ON CONFLICT (release_id, position) DO UPDATE SET state = excluded.state
            """)
        for (position, json) in entries { try entry.execute(arguments: [id, position, json]) }
        let event = try db.cachedStatement(sql: """
            INSERT INTO release_events (release_id, sequence, event) VALUES (?, ?, ?)
            ON CONFLICT (release_id, sequence) DO NOTHING
            """)
        for (sequence, json) in events { try event.execute(arguments: [id, sequence, json]) }
    }

    /// The release of a `releases` row (columns id, record, request_entries) with its entries
    /// and events. A row without request entries holds a whole release of schema v3 that v4
    /// could not read: reading it again says why.
    static func read(_ row: Row, in db: Database) throws -> ReleaseRecord {
        let id: String = row["id"]
        var release = try StoreCoding.decodeRelease(row["record"], id: id)
        guard let requestEntries: String = row["request_entries"] else { return release }
        release.request.entries = try StoreCoding.decodeReleasePart([ReleaseEntry].self, requestEntries, id: id)
        release.entries = try String.fetchAll(db, sql: "SELECT state FROM release_entries WHERE release_id = ? ORDER BY position",
                                              arguments: [id]).map { try StoreCoding.decodeReleasePart(EntryState.self, $0, id: id) }
        release.events = try String.fetchAll(db, sql: "SELECT event FROM release_events WHERE release_id = ? ORDER BY sequence",
                                             arguments: [id]).map { try StoreCoding.decodeReleasePart(ReleaseEvent.self, $0, id: id) }
        return release
    }
}
