import GRDB

/// The audit log's anchors: the last line written to each log, by path (see `Audit.AuditAnchor`;
/// the server adapts these to the audit log's protocol).
extension SQLiteDeploymentStore {
    public func auditAnchor(for path: String) throws -> (seq: Int, hash: String)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_anchors WHERE path = ?", arguments: [path])
                .map { (seq: $0["seq"], hash: $0["hash"]) }
        }
    }

    /// Records the anchor; `force` also moves it back (an acknowledged mismatch), otherwise only
    /// forward.
    public func setAuditAnchor(seq: Int, hash: String, for path: String, force: Bool = false) throws {
        try pool.write { db in
            // Cached: the audit log anchors every flush.
            try db.cachedStatement(sql: """
                INSERT INTO audit_anchors (path, seq, hash) VALUES (?, ?, ?)
                ON CONFLICT (path) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
                WHERE ? OR excluded.seq >= audit_anchors.seq
                """).execute(arguments: [path, seq, hash, force])
        }
    }
}
