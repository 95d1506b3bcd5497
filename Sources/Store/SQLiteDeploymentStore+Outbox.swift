import Foundation
import GRDB

/// The notification outbox (see `Notify.NoticeOutbox`; the server adapts these): a notice is
/// kept per route from the moment its delivery starts until it is sent, and remembered a week
/// after, so that it is sent once even when the server restarts in between.
extension SQLiteDeploymentStore {
    /// Keeps the notice for the route unless it is kept already; answers false when it was
    /// sent before (a repeat that must not go out again).
    public func outboxKeep(route: String, key: String, notice: String, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: """
                INSERT INTO notification_outbox (route, key, notice, added_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (route, key) DO NOTHING
                """, arguments: [route, key, notice, at.timeIntervalSinceReferenceDate])
            let sent = try Double?.fetchOne(db, sql: "SELECT sent_at FROM notification_outbox WHERE route = ? AND key = ?",
                                            arguments: [route, key]) ?? nil
            return sent == nil
        }
    }

    /// The notice was sent (or given up): it is not sent again. Rows sent more than a week
    /// ago go.
    public func outboxSent(route: String, key: String, at: Date) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE notification_outbox SET sent_at = ? WHERE route = ? AND key = ?",
                           arguments: [at.timeIntervalSinceReferenceDate, route, key])
            try db.execute(sql: "DELETE FROM notification_outbox WHERE sent_at < ?",
                           arguments: [at.addingTimeInterval(-7 * 86400).timeIntervalSinceReferenceDate])
        }
    }

    /// Notices kept and not sent, oldest first.
    public func outboxUnsent() async throws -> [(route: String, key: String, notice: String)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT route, key, notice FROM notification_outbox WHERE sent_at IS NULL ORDER BY added_at, key")
                .map { (route: $0["route"], key: $0["key"], notice: $0["notice"]) }
        }
    }
}
