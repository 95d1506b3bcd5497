import Engine
import Foundation
import GRDB

/// Releases live in the same file as the deployments (table `releases`, schema v3), and their
/// saves go through the same ordered writes.
extension SQLiteDeploymentStore: ReleaseStore {
    /// Writes the release in one transaction, after the saves made before it; a state older
    /// than the stored one (a lower `revision`) is not written over it.
    public func save(_ release: ReleaseRecord) async throws {
        let json = try StoreCoding.encode(release)
        try await writes.write { db in try Self.upsert(release, json: json, in: db) }
    }

    public func loadRelease(id: String) async throws -> ReleaseRecord? {
        let json = try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT record FROM releases WHERE id = ?", arguments: [id])
        }
        return try json.map { try StoreCoding.decodeRelease($0, id: id) }
    }

    public func listReleases(limit: Int, offset: Int) async throws -> [ReleaseRecord] {
        guard limit > 0 else { return [] }
        // rowid: the order of first saves, for releases created at the same instant.
        return try await fetchReleases(sql: "SELECT id, record FROM releases ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                                       arguments: [limit, max(0, offset)])
    }

    public func unfinishedReleases() async throws -> [ReleaseRecord] {
        let open = FilterQuery.statusList(DeploymentStatus.allCases.filter { !$0.isTerminal })
        return try await fetchReleases(sql: "SELECT id, record FROM releases WHERE status IN \(open) ORDER BY created_at, rowid",
                                       arguments: [])
    }

    public func purgeReleases(finishedBefore date: Date) async throws -> Int {
        let final = FilterQuery.statusList(DeploymentStatus.allCases.filter(\.isTerminal))
        let cutoff = StoreCoding.column(date)
        return try await writes.write { db in
            try db.execute(sql: "DELETE FROM releases WHERE status IN \(final) AND COALESCE(finished_at, updated_at) < ?",
                           arguments: [cutoff])
            return db.changesCount
        }
    }

    private static func upsert(_ release: ReleaseRecord, json: String, in db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO releases (id, name, status, created_at, updated_at, finished_at, revision, record)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                name = excluded.name, status = excluded.status, created_at = excluded.created_at,
                updated_at = excluded.updated_at, finished_at = excluded.finished_at, revision = excluded.revision,
                record = excluded.record
            WHERE excluded.revision >= releases.revision
            """)
        try statement.execute(arguments: [
            release.id,
            release.request.name,
            release.status.rawValue,
            StoreCoding.column(release.createdAt),
            StoreCoding.column(release.updatedAt),
            release.finishedAt.map(StoreCoding.column),
            release.revision,
            json,
        ])
    }

    private func fetchReleases(sql: String, arguments: StatementArguments) async throws -> [ReleaseRecord] {
        let rows = try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row -> (id: String, json: String) in (row["id"], row["record"]) }
        }
        return try rows.map { try StoreCoding.decodeRelease($0.json, id: $0.id) }
    }
}
