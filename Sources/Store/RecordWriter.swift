import CloudModel
import Engine
import GRDB

/// Writes one record into the three tables, inside the caller's transaction, and reads its
/// events back.
enum RecordWriter {
    /// A record older than the stored one (fewer events: each change records one) is not
    /// written over it. Two saves of one deployment can cross on their way here (the engine
    /// does not wait for one before it makes the next change), and the later state must stay.
    static func write(_ record: DeploymentRecord, json: String, in db: Database) throws {
        // Cached statements: a save runs these for every change of every deployment.
        let stored = try Int.fetchOne(db.cachedStatement(sql: "SELECT MAX(sequence) FROM events WHERE deployment_id = ?"),
                                      arguments: [record.id]) ?? 0
        guard record.events.count >= stored else { return }
        try upsertDeployment(record, json: json, in: db)
        try insertNewEvents(of: record, after: stored, in: db)
        try writeApproval(of: record, in: db)
    }

    /// An upsert, not `INSERT OR REPLACE`: replacing would delete the row and, by cascade, its
    /// events and approval. An update sets only the columns that change after the first save
    /// (a deployment's request is fixed by its id): SQLite rewrites the entries of every index
    /// on a column the update sets, changed or not.
    private static func upsertDeployment(_ record: DeploymentRecord, json: String, in db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO deployments (id, cluster, service, status, strategy, created_at, updated_at, finished_at, record)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                status = excluded.status, updated_at = excluded.updated_at, finished_at = excluded.finished_at,
                record = excluded.record
            """)
        try statement.execute(arguments: [
            record.id,
            record.request.cluster.arnResourceName,
            record.request.service.arnResourceName,
            record.status.rawValue,
            record.request.strategy.rawValue,
            StoreCoding.column(record.createdAt),
            StoreCoding.column(record.updatedAt),
            record.finishedAt.map(StoreCoding.column),
            json,
        ])
    }

    /// Events are append-only: only those past the last stored sequence are inserted.
    private static func insertNewEvents(of record: DeploymentRecord, after stored: Int, in db: Database) throws {
        guard !record.events.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO events (deployment_id, sequence, at, type, stage, status, progress, message)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (deployment_id, sequence) DO NOTHING
            """)
        for event in record.events where event.sequence > stored {
            try statement.execute(arguments: [
                record.id, event.sequence, StoreCoding.column(event.at), event.type, event.stage,
                event.status.rawValue, event.progress, event.message,
            ])
        }
    }

    /// The deployment's events, from the table, in order.
    static func events(of id: String, in db: Database) throws -> [DeploymentEvent] {
        try Row.fetchAll(db, sql: """
            SELECT sequence, at, type, stage, status, progress, message FROM events WHERE deployment_id = ? ORDER BY sequence
            """, arguments: [id]).map { row in
            let status: String = row["status"]
            guard let known = DeploymentStatus(rawValue: status) else {
                throw StoreError.undecodableRecord(id: id, reason: "event \(row["sequence"] as Int) has an unknown status \(status)")
            }
            let type: String = row["type"]
            guard let kind = DeploymentEventKind(rawValue: type) else {
                throw StoreError.undecodableRecord(id: id, reason: "event \(row["sequence"] as Int) has an unknown type \(type)")
            }
            return DeploymentEvent(deploymentID: id, sequence: row["sequence"], at: StoreCoding.date(row["at"]), kind: kind,
                                   stage: row["stage"], status: known, progress: row["progress"], message: row["message"])
        }
    }

    /// The approvals table mirrors the record's decision (at most one per deployment).
    private static func writeApproval(of record: DeploymentRecord, in db: Database) throws {
        guard let approval = record.approval else {
            try db.cachedStatement(sql: "DELETE FROM approvals WHERE deployment_id = ?").execute(arguments: [record.id])
            return
        }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO approvals (deployment_id, approved, approver, reason, at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (deployment_id) DO UPDATE SET
                approved = excluded.approved, approver = excluded.approver, reason = excluded.reason, at = excluded.at
            """)
        try statement.execute(arguments: [
            record.id, approval.approved, approval.approver, approval.reason, StoreCoding.column(approval.at),
        ])
    }
}
