import Engine
import Foundation
import GRDB
import Store
import Testing

@Suite struct SQLiteDeploymentStoreTests {
    private func withStore(_ body: (SQLiteDeploymentStore, String) async throws -> Void) async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("data/deployments.sqlite").path
        try await body(try SQLiteDeploymentStore(path: path), path)
    }

    /// Counts rows with a connection of its own (the store's file is in WAL mode).
    private func count(_ path: String, _ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        try Fixtures.read(path) { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? -1 }
    }

    @Test func fullRecordRoundTrips() async throws {
        try await withStore { store, _ in
            let record = try Fixtures.fullRecord()
            try await store.save(record)
            let loaded = try #require(try await store.load(id: record.id))
            #expect(loaded == record)
            #expect(loaded.createdAt == Fixtures.t0)
            #expect(loaded.settings.hooks == [.preTraffic: "exec:./check.sh", .postSuccess: "https://hooks.example.test/done"])
            #expect(try await store.load(id: "missing") == nil)
        }
    }

    /// A stored record that cannot be read (another version, damage) is shown FAILED with the
    /// reason and never resumed: a start does not fail on it, again and again.
    @Test func anUnreadableRecordIsFailedNotResumed() async throws {
        try await withStore { store, path in
            var running = Fixtures.record(id: "d-ok")
            running.status = .inProgress
            try await store.save(running)
            var damaged = Fixtures.record(id: "d-bad")
            damaged.status = .inProgress
            try await store.save(damaged)
            let queue = try DatabaseQueue(path: path)
            try Fixtures.write(queue) { db in
                try db.execute(sql: "UPDATE deployments SET record = '{\"not\": \"a record\"}' WHERE id = 'd-bad'")
            }
            try queue.close()
            #expect(try await store.unfinished().map(\.id) == ["d-ok"])
            let shown = try #require(try await store.load(id: "d-bad"))
            #expect(shown.status == .failed && shown.error.hasPrefix("the stored record cannot be read, so it is not resumed"), "\(shown.error)")
            #expect(shown.request.cluster == "prod" && shown.request.service == "web")
            #expect(try await store.list(DeploymentFilter()).map(\.id).sorted() == ["d-bad", "d-ok"])
        }
    }

    @Test func saveUpdatesInPlaceAndAppendsEvents() async throws {
        try await withStore { store, path in
            var record = try Fixtures.fullRecord()
            try await store.save(record)
            record.status = .rolledBack
            record.finishedAt = Fixtures.date(90)
            record.updatedAt = Fixtures.date(90)
            record.events.append(Fixtures.event(record.id, 6, "deployment.rolled_back", at: 90, status: .rolledBack))
            record.approval?.reason = "amended"
            try await store.save(record)
            try await store.save(record)  // saving the same record again changes nothing

            #expect(try await store.load(id: record.id) == record)
            #expect(try await store.list(DeploymentFilter()).count == 1)
            #expect(try count(path, "SELECT COUNT(*) FROM deployments") == 1)
            #expect(try count(path, "SELECT COUNT(*) FROM events WHERE deployment_id = ?", [record.id]) == 6)
            #expect(try count(path, "SELECT COUNT(*) FROM deployments WHERE status = 'ROLLED_BACK'") == 1)
            let reason = try Fixtures.read(path) { db in
                try String.fetchOne(db, sql: "SELECT reason FROM approvals WHERE deployment_id = ?", arguments: [record.id])
            }
            #expect(reason == "amended")
        }
    }

    /// Two saves of a deployment that cross on their way (the later state arrives first) leave
    /// the later state, in the file and in memory alike.
    @Test func anOlderStateDoesNotReplaceANewerOne() async throws {
        try await withStore { store, path in
            let older = try Fixtures.fullRecord()
            var newer = older
            newer.status = .rolledBack
            newer.finishedAt = Fixtures.date(90)
            newer.events.append(Fixtures.event(older.id, older.events.count + 1, "deployment.rolled_back", at: 90, status: .rolledBack))
            let memory = InMemoryDeploymentStore()
            for target in [store as any DeploymentStore, memory] {
                try await target.save(newer)
                try await target.save(older)
                #expect(try await target.load(id: older.id) == newer)
                #expect(try await target.unfinished().isEmpty)
            }
            #expect(try count(path, "SELECT COUNT(*) FROM deployments WHERE status = 'ROLLED_BACK'") == 1)
        }
    }

    @Test func eventsAndApprovalsTablesAreFilled() async throws {
        try await withStore { store, path in
            let record = try Fixtures.fullRecord()
            try await store.save(record)
            try await store.save(Fixtures.record(id: "no-approval"))
            let rows = try Fixtures.read(path) { db in
                try Row.fetchAll(db, sql: "SELECT * FROM events WHERE deployment_id = ? ORDER BY sequence", arguments: [record.id])
            }
            #expect(rows.count == record.events.count)
            for (row, event) in zip(rows, record.events) {
                #expect(row["sequence"] as Int == event.sequence)
                #expect(row["type"] as String == event.type)
                #expect(row["stage"] as String == event.stage)
                #expect(row["status"] as String == event.status.rawValue)
                #expect(row["message"] as String == event.message)
                #expect(Date(timeIntervalSinceReferenceDate: row["at"]) == event.at)
            }
            let approval = try #require(try Fixtures.read(path) { db in
                try Row.fetchOne(db, sql: "SELECT * FROM approvals WHERE deployment_id = ?", arguments: [record.id])
            })
            #expect(approval["approved"] as Bool == true)
            #expect(approval["approver"] as String == "bob")
            #expect(approval["reason"] as String == "looks good")
            #expect(try count(path, "SELECT COUNT(*) FROM approvals") == 1)
            let columns = try Fixtures.read(path) { db in
                try Row.fetchOne(db, sql: "SELECT cluster, service, strategy, status FROM deployments WHERE id = ?",
                                 arguments: [record.id])
            }
            #expect(columns?["cluster"] as String? == "prod")
            #expect(columns?["service"] as String? == "web")
            #expect(columns?["strategy"] as String? == "canary")
            #expect(columns?["status"] as String? == "ROLLING_BACK")
        }
    }

    /// Records for the filter and order tests: two clusters (one given by ARN), two services,
    /// several statuses, and two records created at the same moment (ordered by id).
    private static let sample: [DeploymentRecord] = [
        Fixtures.record(id: "a", cluster: "prod", service: "web", status: .succeeded, created: 0),
        Fixtures.record(id: "b", cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                        service: "arn:aws:ecs:us-east-1:123456789012:service/prod/api", status: .failed, created: 10),
        Fixtures.record(id: "c", cluster: "staging", service: "web", status: .inProgress, created: 20),
        Fixtures.record(id: "d", cluster: "prod", service: "web", strategy: .rolling, status: .pendingApproval, created: 30),
        Fixtures.record(id: "e2", cluster: "prod", service: "web", status: .rolledBack, created: 40),
        Fixtures.record(id: "e1", cluster: "prod", service: "web", status: .succeeded, created: 40),
        Fixtures.record(id: "f", cluster: "staging", service: "api", status: .succeeded, created: 40.000_000_5),
    ]

    private func ids(_ records: [DeploymentRecord]) -> [String] { records.map(\.id) }

    @Test func filtersAndOrder() async throws {
        try await withStore { store, _ in
            for record in Self.sample.shuffled() { try await store.save(record) }
            #expect(ids(try await store.list(DeploymentFilter())) == ["f", "e2", "e1", "d", "c", "b", "a"])
            #expect(ids(try await store.list(DeploymentFilter(cluster: "prod"))) == ["e2", "e1", "d", "b", "a"])
            let prodARN = "arn:aws:ecs:eu-west-1:999999999999:cluster/prod"
            #expect(ids(try await store.list(DeploymentFilter(cluster: prodARN))) == ["e2", "e1", "d", "b", "a"])
            #expect(ids(try await store.list(DeploymentFilter(cluster: "prod", service: "api"))) == ["b"])
            #expect(ids(try await store.list(DeploymentFilter(service: "arn:aws:ecs:r:1:service/staging/api"))) == ["f", "b"])
            #expect(ids(try await store.list(DeploymentFilter(statuses: [.succeeded, .failed]))) == ["f", "e1", "b", "a"])
            #expect(ids(try await store.list(DeploymentFilter(since: Fixtures.date(20)))) == ["f", "e2", "e1", "d", "c"])
            #expect(ids(try await store.list(DeploymentFilter(until: Fixtures.date(20)))) == ["b", "a"])
            // Exact bounds: `f` is half a microsecond after e1 and e2.
            #expect(ids(try await store.list(DeploymentFilter(until: Fixtures.date(40.000_000_5))))
                        == ["e2", "e1", "d", "c", "b", "a"])
            #expect(ids(try await store.list(DeploymentFilter(since: Fixtures.date(40.000_000_5)))) == ["f"])
            #expect(ids(try await store.list(DeploymentFilter(cluster: "", service: "")))
                        == ["f", "e2", "e1", "d", "c", "b", "a"])
            #expect(try await store.list(DeploymentFilter(cluster: "nope")).isEmpty)
        }
    }

    @Test func paging() async throws {
        try await withStore { store, _ in
            for record in Self.sample { try await store.save(record) }
            var pages: [[String]] = []
            var offset = 0
            while true {
                let page = ids(try await store.list(DeploymentFilter(), limit: 3, offset: offset))
                if page.isEmpty { break }
                pages.append(page)
                offset += page.count
            }
            #expect(pages == [["f", "e2", "e1"], ["d", "c", "b"], ["a"]])
            #expect(ids(try await store.list(DeploymentFilter(cluster: "prod"), limit: 2, offset: 1)) == ["e1", "d"])
            #expect(try await store.list(DeploymentFilter(), limit: 0, offset: 0).isEmpty)
            #expect(ids(try await store.list(DeploymentFilter(), limit: 1, offset: -5)) == ["f"])
        }
    }

    /// The SQL filters mean what `DeploymentFilter.matches` means: same answers as the
    /// in-memory store for every combination tried.
    @Test func sameAnswersAsTheInMemoryStore() async throws {
        try await withStore { store, _ in
            let memory = InMemoryDeploymentStore()
            for record in Self.sample {
                try await store.save(record)
                try await memory.save(record)
            }
            let clusters: [String?] = [nil, "prod", "staging", "arn:aws:ecs:r:1:cluster/prod"]
            let services: [String?] = [nil, "web", "api"]
            let statuses: [Set<DeploymentStatus>] = [[], [.succeeded], [.inProgress, .pendingApproval, .rolledBack]]
            let bounds: [(Date?, Date?)] = [(nil, nil), (Fixtures.date(10), nil), (nil, Fixtures.date(40)),
                                            (Fixtures.date(10), Fixtures.date(40.000_000_5))]
            for cluster in clusters {
                for service in services {
                    for status in statuses {
                        for (since, until) in bounds {
                            let filter = DeploymentFilter(cluster: cluster, service: service, statuses: status, since: since,
                                                          until: until)
                            let expected = ids(try await memory.list(filter, limit: 2, offset: 1))
                            #expect(ids(try await store.list(filter, limit: 2, offset: 1)) == expected, "\(filter)")
                        }
                    }
                }
            }
        }
    }

    @Test func unfinished() async throws {
        try await withStore { store, _ in
            for record in Self.sample { try await store.save(record) }
            #expect(Set(ids(try await store.unfinished())) == ["c", "d"])
        }
    }

    @Test func purgeDeletesOldFinishedRecordsWithTheirRows() async throws {
        try await withStore { store, path in
            var old = Fixtures.record(id: "old", status: .succeeded, created: 0, finished: 100)
            old.events = [Fixtures.event("old", 1, "deployment.succeeded", at: 100, status: .succeeded)]
            old.approval = Fixtures.approval(true, by: "bob", reason: "", at: 1)
            let recent = Fixtures.record(id: "recent", status: .failed, created: 0, finished: 300)
            let running = Fixtures.record(id: "running", status: .inProgress, created: 0)
            var noFinish = Fixtures.record(id: "no-finish", status: .interrupted, created: 0)
            noFinish.finishedAt = nil
            noFinish.updatedAt = Fixtures.date(50)
            for record in [old, recent, running, noFinish] { try await store.save(record) }

            #expect(try await store.purge(finishedBefore: Fixtures.date(200)) == 2)
            #expect(Set(ids(try await store.list(DeploymentFilter()))) == ["recent", "running"])
            #expect(try count(path, "SELECT COUNT(*) FROM events") == 0)
            #expect(try count(path, "SELECT COUNT(*) FROM approvals") == 0)
            #expect(try await store.purge(finishedBefore: Fixtures.date(300)) == 0)  // strictly before
            #expect(try await store.purge(finishedBefore: Fixtures.date(10_000)) == 1)
            #expect(ids(try await store.list(DeploymentFilter())) == ["running"])
        }
    }

    @Test func recordsSurviveReopening() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("deployments.sqlite").path
        let record = try Fixtures.fullRecord()
        do {
            let store = try SQLiteDeploymentStore(path: path)
            try await store.save(record)
        }
        let reopened = try SQLiteDeploymentStore(path: path)
        #expect(try await reopened.load(id: record.id) == record)
        #expect(ids(try await reopened.unfinished()) == [record.id])
        let journal = try Fixtures.read(path) { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
    }

    @Test func unwritablePathIsAClearError() throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let file = folder.appendingPathComponent("plain-file")
        try Data("not a folder".utf8).write(to: file)
        let path = file.appendingPathComponent("deployments.sqlite").path
        do {
            _ = try SQLiteDeploymentStore(path: path)
            Issue.record("opening \(path) should fail")
        } catch let error as StoreError {
            guard case .cannotOpen(let named, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(named == path)
            #expect(error.description.contains(path))
        }
        // A folder where the file should be.
        #expect(throws: StoreError.cannotOpen(path: folder.path, reason: "it is a folder")) {
            try SQLiteDeploymentStore(path: folder.path)
        }
    }
}
