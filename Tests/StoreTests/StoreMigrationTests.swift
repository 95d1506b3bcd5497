import CloudModel
import Engine
import Foundation
import GRDB
@testable import Store
import Testing

@Suite struct StoreMigrationTests {
    /// A file written at schema v1 (no approvals table) opens with the full migrator: the
    /// records are intact and v2's approvals table is filled from their JSON.
    @Test func v1DatabaseIsUpgraded() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("old.sqlite").path
        let approved = try Fixtures.fullRecord(id: "approved")
        var rejected = Fixtures.record(id: "rejected", status: .rejected, created: 5)
        rejected.approval = Fixtures.approval(false, by: "carol", reason: "not on a Friday", at: 6.5)
        let plain = Fixtures.record(id: "plain", created: 10)

        do {
            let old = try DatabaseQueue(path: path)
            try StoreSchema.migrator.migrate(old, upTo: "v1")
            try Fixtures.write(old) { db in
                #expect(try !db.tableExists("approvals"))
                for record in [approved, rejected, plain] {
                    // The v1 writer: the deployments row and the events.
                    try db.execute(sql: """
                        INSERT INTO deployments (id, cluster, service, status, strategy, created_at, updated_at, finished_at, record)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [record.id, record.request.cluster.arnResourceName, record.request.service.arnResourceName,
                                         record.status.rawValue, record.request.strategy.rawValue,
                                         record.createdAt.timeIntervalSinceReferenceDate,
                                         record.updatedAt.timeIntervalSinceReferenceDate,
                                         record.finishedAt?.timeIntervalSinceReferenceDate, try StoreCoding.encode(record)])
                    for event in record.events {
                        try db.execute(sql: """
                            INSERT INTO events (deployment_id, sequence, at, type, stage, status, progress, message)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                            """, arguments: [record.id, event.sequence, event.at.timeIntervalSinceReferenceDate, event.type,
                                             event.stage, event.status.rawValue, event.progress, event.message])
                    }
                }
            }
            #expect(try Fixtures.read(path) { db in try StoreSchema.migrator.appliedMigrations(db) } == ["v1"])
        }

        let store = try SQLiteDeploymentStore(path: path)
        #expect(try await store.load(id: "approved") == approved)
        #expect(try await store.load(id: "rejected") == rejected)
        #expect(try await store.list(DeploymentFilter(cluster: "prod")).map(\.id) == ["plain", "rejected", "approved"])

        let (applied, approvals, events) = try Fixtures.read(path) { db in
            (try StoreSchema.migrator.appliedMigrations(db),
             try Row.fetchAll(db, sql: "SELECT * FROM approvals ORDER BY deployment_id"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0)
        }
        #expect(applied == ["v1", "v2", "v3", "v4", "v5", "v6"])
        #expect(events == approved.events.count)
        #expect(approvals.count == 2)
        #expect(approvals[0]["deployment_id"] as String == "approved")
        #expect(approvals[0]["approved"] as Bool == true)
        #expect(approvals[0]["approver"] as String == "bob")
        #expect(approvals[0]["reason"] as String == "looks good")
        #expect(Date(timeIntervalSinceReferenceDate: approvals[0]["at"]) == approved.approval?.at)
        #expect(approvals[1]["deployment_id"] as String == "rejected")
        #expect(approvals[1]["approved"] as Bool == false)
        #expect(approvals[1]["approver"] as String == "carol")
        #expect(Date(timeIntervalSinceReferenceDate: approvals[1]["at"]) == rejected.approval?.at)

        // New saves use the upgraded schema.
        var next = plain
        next.approval = Fixtures.approval(true, by: "dave", reason: "", at: 11)
        try await store.save(next)
        #expect(try Fixtures.read(path) { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM approvals") } == 3)
    }

    /// A file from a newer server (a migration this one does not know) is refused, not altered.
    @Test func newerSchemaIsRefused() throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("new.sqlite").path
        _ = try SQLiteDeploymentStore(path: path)
        try Fixtures.write(DatabaseQueue(path: path)) { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')")
        }
        #expect(throws: StoreError.newerSchema(path: path, unknownMigrations: ["v99"])) {
            try SQLiteDeploymentStore(path: path)
        }
    }
}
