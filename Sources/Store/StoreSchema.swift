import Engine
import GRDB

/// The database's schema, as a list of migrations applied in order. A migration, once
/// released, never changes: a later change is a new migration ("v3", ...).
///
/// Dates are REAL columns holding `Date.timeIntervalSinceReferenceDate` (see `StoreCoding`).
enum StoreSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1", migrate: v1)
        migrator.registerMigration("v2", migrate: v2)
        migrator.registerMigration("v3", migrate: v3)
        migrator.registerMigration("v4", migrate: v4)
        migrator.registerMigration("v5", migrate: v5)
        migrator.registerMigration("v6", migrate: v6)
        return migrator
    }

    /// Deployments (searchable columns + the whole record as JSON) and their events.
    static func v1(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE deployments (
                id TEXT NOT NULL PRIMARY KEY,
                cluster TEXT NOT NULL,      -- name (an ARN reduced to its last path component)
                service TEXT NOT NULL,      -- name, likewise
                status TEXT NOT NULL,
                strategy TEXT NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                finished_at REAL,
                record TEXT NOT NULL        -- DeploymentRecord as JSON
            );
            CREATE INDEX deployments_by_creation ON deployments (created_at, id);
            CREATE INDEX deployments_by_service ON deployments (cluster, service, created_at);
            CREATE INDEX deployments_by_service_name ON deployments (service);
            CREATE INDEX deployments_by_status ON deployments (status, created_at);
            CREATE INDEX deployments_by_strategy ON deployments (strategy);
            CREATE INDEX deployments_by_update ON deployments (updated_at);
            CREATE INDEX deployments_by_finish ON deployments (finished_at);

            CREATE TABLE events (
                deployment_id TEXT NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
                sequence INTEGER NOT NULL,
                at REAL NOT NULL,
                type TEXT NOT NULL,
                stage TEXT NOT NULL,
                status TEXT NOT NULL,
                progress INTEGER NOT NULL,
                message TEXT NOT NULL,
                PRIMARY KEY (deployment_id, sequence)
            ) WITHOUT ROWID;
            CREATE INDEX events_by_type ON events (type, at);
            """)
    }

    /// Approval decisions get their own table (who approved or rejected what, when),
    /// filled from the records already stored.
    static func v2(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE approvals (
                deployment_id TEXT NOT NULL PRIMARY KEY REFERENCES deployments (id) ON DELETE CASCADE,
                approved INTEGER NOT NULL,
                approver TEXT NOT NULL,
                reason TEXT NOT NULL,
                at REAL NOT NULL
            );
            CREATE INDEX approvals_by_approver ON approvals (approver, at);

            INSERT INTO approvals (deployment_id, approved, approver, reason, at)
            SELECT id,
                   json_extract(record, '$.approval.approved'),
                   json_extract(record, '$.approval.approver'),
                   json_extract(record, '$.approval.reason'),
                   json_extract(record, '$.approval.at')
            FROM deployments
            WHERE json_type(record, '$.approval') = 'object';
            """)
    }

    /// Releases: searchable columns and the whole record as JSON (its entries and events are
    /// in the record). `revision` is the record's event count: a save never replaces a higher one.
    static func v3(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE releases (
                id TEXT NOT NULL PRIMARY KEY,
                name TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                finished_at REAL,
                revision INTEGER NOT NULL,
                record TEXT NOT NULL        -- ReleaseRecord as JSON
            );
            CREATE INDEX releases_by_creation ON releases (created_at, id);
            CREATE INDEX releases_by_status ON releases (status, created_at);
            CREATE INDEX releases_by_finish ON releases (finished_at);
            """)
    }

    /// A release's entries and events get rows of their own, so that a change writes what it
    /// changed (v3 wrote the whole release, O(entries) per change, on every change).
    /// `releases.record` now holds the release without its request's entries (in
    /// `request_entries`), its entries and its events. Each v3 release is rewritten so; one that
    /// cannot be read is left as it was (`request_entries` NULL), and reading it says why.
    static func v4(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE releases ADD COLUMN request_entries TEXT;  -- [ReleaseEntry] as JSON
            CREATE TABLE release_entries (
                release_id TEXT NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                state TEXT NOT NULL,        -- EntryState as JSON
                PRIMARY KEY (release_id, position)
            ) WITHOUT ROWID;
            CREATE TABLE release_events (
                release_id TEXT NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
                sequence INTEGER NOT NULL,
                event TEXT NOT NULL,        -- ReleaseEvent as JSON
                PRIMARY KEY (release_id, sequence)
            ) WITHOUT ROWID;
            """)
        for row in try Row.fetchAll(db, sql: "SELECT id, record FROM releases") {
            guard let release = try? StoreCoding.decodeRelease(row["record"], id: row["id"]) else { continue }
            try ReleaseRows(ReleaseChange(whole: release)).write(in: db)
        }
    }

    /// The last line the server wrote to each audit log (`AuditAnchor`), checked at start.
    static func v5(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE audit_anchors (
                path TEXT NOT NULL PRIMARY KEY,
                seq INTEGER NOT NULL,
                hash TEXT NOT NULL          -- hex SHA-256 of the line
            ) WITHOUT ROWID;
            """)
    }

    /// Notifications being sent, and those sent (kept a while, so a notice is sent once even
    /// across restarts): one row per route and notice key.
    static func v6(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE notification_outbox (
                route TEXT NOT NULL,
                key TEXT NOT NULL,          -- the notice's key: "deployment/d1/7"
                notice TEXT NOT NULL,       -- the notice as JSON
                added_at REAL NOT NULL,
                sent_at REAL,               -- NULL: not sent yet
                PRIMARY KEY (route, key)
            ) WITHOUT ROWID;
            CREATE INDEX notification_outbox_unsent ON notification_outbox (sent_at, added_at);
            """)
    }
}
