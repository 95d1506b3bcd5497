import Engine
import Foundation
import GRDB

/// Deployment and release records in an SQLite file (WAL mode), one transaction per save.
/// Searchable fields are columns; the record itself is stored whole as JSON, with a
/// deployment's events and its approval also in tables of their own (see `StoreSchema`).
/// Releases: `SQLiteDeploymentStore+Releases`.
public final class SQLiteDeploymentStore: DeploymentStore {
    /// The database file.
    public let path: String
    let pool: DatabasePool
    /// Saves (of deployments and of releases) reach the file in the order they were made.
    let writes: OrderedWrites

    /// Opens (creating it and its folder when missing) the database at `path` and brings its
    /// schema up to date. Throws `StoreError` naming the path when that cannot be done.
    public init(path: String) throws {
        self.path = path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            throw StoreError.cannotOpen(path: path, reason: "it is a folder")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw StoreError.cannotOpen(path: path, reason: "cannot create the folder \(folder.path): \(Self.reason(error))")
        }
        do {
            pool = try DatabasePool(path: path, configuration: Self.configuration)
            // GRDB sets the writer to NORMAL once it turns WAL on (after `prepareDatabase`),
            // where a commit does not wait for the disk: set it back, on the connection that
            // commits.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw StoreError.cannotOpen(path: path, reason: Self.reason(error))
        }
        writes = OrderedWrites(pool)
        try Self.migrate(pool, path: path)
    }

    /// Saves made and not committed yet (they go in together: see `OrderedWrites`).
    public var pendingWrites: Int { writes.pendingWrites }

    private static var configuration: Configuration {
        var config = Configuration()
        config.foreignKeysEnabled = true
        // Another process (a backup, the sqlite3 shell) may hold the lock for a moment.
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            // A record is the resume point after a crash: make each commit durable.
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return config
    }

    private static func migrate(_ pool: DatabasePool, path: String) throws {
        let migrator = StoreSchema.migrator
        let known = Set(migrator.migrations)
        let applied: [String]
        do {
            applied = try pool.read { db in try migrator.appliedIdentifiers(db) }.sorted()
        } catch {
            throw StoreError.cannotOpen(path: path, reason: reason(error))
        }
        let unknown = applied.filter { !known.contains($0) }
        guard unknown.isEmpty else { throw StoreError.newerSchema(path: path, unknownMigrations: unknown) }
        do {
            try migrator.migrate(pool)
        } catch {
            throw StoreError.cannotMigrate(path: path, reason: reason(error))
        }
    }

    /// SQLite's own words (GRDB adds the statement, which says nothing to an operator).
    private static func reason(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return (error as NSError).localizedDescription
    }

    // MARK: DeploymentStore

    /// Writes the record in one transaction, after the saves made before it. The write is not
    /// cancelled with the calling task (see `OrderedWrites`).
    /// The JSON leaves the events out: they are rows of `events`, and a record read back takes
    /// them from there (a save costs its own events, not the whole history's).
    public func save(_ record: DeploymentRecord) async throws {
        var bare = record
        bare.events = []
        let json = try StoreCoding.encode(bare)
        try await writes.write { db in try RecordWriter.write(record, json: json, in: db) }
    }

    public func load(id: String) async throws -> DeploymentRecord? {
        try await fetchRecords(sql: "SELECT id, record FROM deployments WHERE id = ?", arguments: [id]).first
    }

    public func list(_ filter: DeploymentFilter, limit: Int, offset: Int) async throws -> [DeploymentRecord] {
        guard limit > 0 else { return [] }
        let query = FilterQuery(filter)
        var arguments = query.arguments
        arguments += [limit, max(0, offset)]
        let sql = "SELECT id, record FROM deployments \(query.whereClause) ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
        return try await fetchRecords(sql: sql, arguments: arguments)
    }

    public func unfinished() async throws -> [DeploymentRecord] {
        let open = FilterQuery.statusList(DeploymentStatus.allCases.filter { !$0.isTerminal })
        let sql = "SELECT id, record FROM deployments WHERE status IN \(open) ORDER BY created_at, id"
        // An unreadable one is answered FAILED: not resumed.
        return try await fetchRecords(sql: sql, arguments: []).filter { !$0.status.isTerminal }
    }

    public func purge(finishedBefore date: Date) async throws -> Int {
        let final = FilterQuery.statusList(DeploymentStatus.allCases.filter(\.isTerminal))
        let cutoff = StoreCoding.column(date)
        // Events and approvals go with their deployment (ON DELETE CASCADE).
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM deployments WHERE status IN \(final) AND COALESCE(finished_at, updated_at) < ?",
                           arguments: [cutoff])
            return db.changesCount
        }
    }

    /// The records of rows with columns id and record, each with its events from `events`
    /// (a record saved before the JSON left them out has them in both: the table's are the same).
    private func fetchRecords(sql: String, arguments: StatementArguments) async throws -> [DeploymentRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let id: String = row["id"]
                do {
                    var record = try StoreCoding.decode(row["record"], id: id)
                    record.events = try RecordWriter.events(of: id, in: db)
                    return record
                } catch let error as StoreError {
                    return try Self.unreadable(id, error, in: db)
                }
            }
        }
    }

    /// A stored deployment that cannot be read (written by another version, or damaged) is
    /// answered as FAILED with the reason, from its columns; its row is left as it was. So it
    /// is listed and shown, and never resumed: a start does not fail on it, again and again.
    private static func unreadable(_ id: String, _ error: StoreError, in db: Database) throws -> DeploymentRecord {
        let row = try Row.fetchOne(db, sql: "SELECT cluster, service, strategy, created_at, updated_at FROM deployments WHERE id = ?",
                                   arguments: [id])
        let request = DeploymentRequest(id: id, cluster: row?["cluster"] ?? "", service: row?["service"] ?? "",
                                        strategy: StrategyKind(rawValue: row?["strategy"] ?? "") ?? .quicksync, taskDefinition: "{}")
        let created = row.map { StoreCoding.date($0["created_at"]) } ?? Date(timeIntervalSince1970: 0)
        var record = DeploymentRecord(request: request, settings: DeploymentSettings(), plan: [], at: created)
        record.status = .failed
        record.error = "the stored record cannot be read, so it is not resumed: \(String(describing: error).prefix(500))"
        record.updatedAt = row.map { StoreCoding.date($0["updated_at"]) } ?? created
        record.finishedAt = record.updatedAt
        record.events = (try? RecordWriter.events(of: id, in: db)) ?? []
        return record
    }
}
