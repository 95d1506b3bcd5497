import Audit
import Engine
import Foundation
import Logging
import Notify
import Store

extension DeploymentServer {
    /// The server as `grpc-server` runs it: deployments and releases recorded in the SQLite
    /// file at `config.storagePath`, every change written to the audit log (`audit.path`,
    /// chained under `audit.key_file` when set, anchored in the same file), on `target`'s cloud
    /// and clocks. The benchmark builds the same.
    public static func standard(config: ServerConfig, target: ServerCommand.Target, logger: Logger) throws -> DeploymentServer {
        let (store, audit) = try openRecords(config, logger: logger)
        return try standard(config: config, target: target, logger: logger, store: store, audit: audit)
    }

    /// The SQLite file and the audit log of `config`.
    public static func openRecords(_ config: ServerConfig, logger: Logger) throws -> (SQLiteDeploymentStore, AuditLog) {
        let store = try SQLiteDeploymentStore(path: config.storagePath)
        let audit = try AuditLog(path: config.effectiveAuditPath, key: try config.auditKeyFile.map(AuditKey.load),
                                 anchors: StoreAuditAnchors(store: store), onError: { error in
            logger.error("audit log write failed: \(error)")
        })
        return (store, audit)
    }

    /// The server on records already open (see `openRecords`).
    public static func standard(config: ServerConfig, target: ServerCommand.Target, logger: Logger,
                                store: SQLiteDeploymentStore, audit: AuditLog) throws -> DeploymentServer {
        try DeploymentServer(config: config, cloud: target.cloud, clock: target.clock, wallClock: target.wallClock, logger: logger,
                             preflight: target.preflight, store: store, releaseStore: store,
                             observers: [audit], releaseObservers: [audit], audit: audit, outbox: StoreNoticeOutbox(store: store))
    }
}

/// The notification outbox, kept in the server's SQLite file.
public struct StoreNoticeOutbox: NoticeOutbox {
    let store: SQLiteDeploymentStore

    public init(store: SQLiteDeploymentStore) { self.store = store }

    public func keep(_ notice: Notice, route: String) async throws -> Bool {
        let json = String(decoding: try JSONEncoder().encode(notice), as: UTF8.self)
        return try await store.outboxKeep(route: route, key: notice.key, notice: json, at: Date())
    }

    public func sent(_ notice: Notice, route: String) async throws {
        try await store.outboxSent(route: route, key: notice.key, at: Date())
    }

    public func unsent() async throws -> [(route: String, notice: Notice)] {
        var out: [(route: String, notice: Notice)] = []
        for row in try await store.outboxUnsent() {
            // A row this version cannot read is given up, not retried at every start.
            guard let notice = try? JSONDecoder().decode(Notice.self, from: Data(row.notice.utf8)) else {
                try await store.outboxSent(route: row.route, key: row.key, at: Date())
                continue
            }
            out.append((row.route, notice))
        }
        return out
    }
}

/// The audit log's anchors, kept in the server's SQLite file.
struct StoreAuditAnchors: AuditAnchorStore {
    let store: SQLiteDeploymentStore

    func anchor(for path: String) throws -> AuditAnchor? {
        try store.auditAnchor(for: path).map { AuditAnchor(seq: $0.seq, hash: $0.hash) }
    }

    func setAnchor(_ anchor: AuditAnchor, for path: String) throws {
        try store.setAuditAnchor(seq: anchor.seq, hash: anchor.hash, for: path)
    }
}
