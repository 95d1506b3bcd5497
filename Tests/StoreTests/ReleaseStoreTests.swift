import CloudModel
@testable import Engine
import Foundation
import GRDB
@testable import Store
import Testing

/// Releases in the store: the SQLite file (schema v4) and the in-memory store answer alike.
@Suite struct ReleaseStoreTests {
    /// A release with every part filled: a service and a scheduled-task entry, an origin, an
    /// approval and `events` events (its revision).
    static func release(id: String, status: DeploymentStatus = .succeeded, created: Double = 0, events: Int = 2) -> ReleaseRecord {
        let service = ReleaseEntry(kind: .service, label: "web", cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                                   service: "web", image: "repo/web:2", containerName: "app", strategy: .canary,
                                   config: ["canary_stages": "20,100"], wave: 1, source: "deployment.yaml:7")
        let task = ReleaseEntry(kind: .scheduledTask, label: "sync", ruleName: "hourly-sync", image: "repo/sync:2",
                                source: "deployment.yaml:3")
        let request = ReleaseRequest(id: id, name: "spring", entries: [task, service], requireApproval: true, onFailure: .stop,
                                     maxParallel: 4,
                                     origin: ReleaseOrigin(commit: "0123abcd", author: "alice", message: "bump", path: "deployment.yaml"),
                                     requestedBy: "alice")
        var record = ReleaseRecord(request: request, entries: [
            EntryState(entry: task, status: .succeeded, oldImages: ["sync=repo/sync:1"], newImage: "repo/sync:2",
                       previousTaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/sync:1",
                       newTaskDefinitionJSON: #"{"family":"sync"}"#, deploymentID: nil,
                       newTaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/sync:2", updatedTargets: ["t1"],
                       error: ""),
            EntryState(entry: service, status: status == .succeeded ? .succeeded : .inProgress, oldImages: ["app=repo/web:1"],
                       newImage: "repo/web:2", previousTaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
                       newTaskDefinitionJSON: #"{"family":"web","containerDefinitions":[{"name":"app","image":"repo/web:2"}]}"#,
                       deploymentID: "\(id).2", newTaskDefinition: nil, updatedTargets: [], error: ""),
        ], at: Fixtures.date(created))
        record.status = status
        record.approval = Fixtures.approval(true, by: "bob", reason: "looks good", at: created + 0.25)
        record.events = (1...max(1, events)).map { n in
            ReleaseEvent(releaseID: id, sequence: n, at: Fixtures.date(created + Double(n) / 3), kind: n == 1 ? .releaseAccepted : .entryStarted,
                         entry: n == 1 ? "" : "web", status: status, message: "event \(n)")
        }
        record.updatedAt = record.events.last!.at
        if status.isTerminal { record.finishedAt = record.updatedAt }
        return record
    }

    /// Runs `body` against a fresh store of each kind.
    static func withStore(_ kind: String, _ body: (any ReleaseStore) async throws -> Void) async throws {
        if kind == "memory" { return try await body(InMemoryReleaseStore()) }
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        try await body(try SQLiteDeploymentStore(path: folder.appendingPathComponent("releases.sqlite").path))
    }

    @Test(arguments: ["memory", "sqlite"])
    func saveLoadListAndUnfinished(kind: String) async throws {
        try await Self.withStore(kind) { store in
            let done = Self.release(id: "r1", status: .succeeded, created: 0)
            let running = Self.release(id: "r2", status: .inProgress, created: 10)
            let waiting = Self.release(id: "a-later", status: .pendingApproval, created: 10)
            let rollingBack = Self.release(id: "r4", status: .rollingBack, created: 5)
            for record in [done, running, waiting, rollingBack] { try await store.save(record) }

            #expect(try await store.loadRelease(id: "r1") == done)
            #expect(try await store.loadRelease(id: "r2") == running)
            #expect(try await store.loadRelease(id: "nope") == nil)
            // Newest first; two created at the same instant: the one saved last first.
            #expect(try await store.listReleases(limit: 10, offset: 0).map(\.id) == ["a-later", "r2", "r4", "r1"])
            #expect(try await store.listReleases(limit: 2, offset: 1).map(\.id) == ["r2", "r4"])
            #expect(try await store.listReleases(limit: 0, offset: 0).isEmpty)
            // Oldest first, finished ones left out.
            #expect(try await store.unfinishedReleases().map(\.id) == ["r4", "r2", "a-later"])

            // A later state replaces the stored one, and leaves the list order as it was.
            var finished = running
            finished.status = .succeeded
            finished.entries[1].status = .succeeded
            finished.events.append(ReleaseEvent(releaseID: "r2", sequence: 3, at: Fixtures.date(11), kind: .releaseSucceeded,
                                                entry: "", status: .succeeded, message: "done"))
            finished.finishedAt = Fixtures.date(11)
            try await store.save(finished)
            #expect(try await store.loadRelease(id: "r2") == finished)
            #expect(try await store.unfinishedReleases().map(\.id) == ["r4", "a-later"])
            #expect(try await store.listReleases(limit: 10, offset: 0).map(\.id) == ["a-later", "r2", "r4", "r1"])
        }
    }

    /// Ids by prefix (a Git release found by a short commit hash); LIKE's wildcards are literal.
    @Test(arguments: ["memory", "sqlite"])
    func idsByPrefix(kind: String) async throws {
        try await Self.withStore(kind) { store in
            for id in ["abc1234def", "abc1299ffff", "ABC1234", "a%b", "a_b", "zzz"] { try await store.save(Self.release(id: id)) }
            #expect(try await store.releaseIDs(startingWith: "abc12", limit: 10).sorted() == ["ABC1234", "abc1234def", "abc1299ffff"])
            #expect(try await store.releaseIDs(startingWith: "abc1234d", limit: 10) == ["abc1234def"])
            #expect(try await store.releaseIDs(startingWith: "a%", limit: 10) == ["a%b"])
            #expect(try await store.releaseIDs(startingWith: "a_", limit: 10) == ["a_b"])
            #expect(try await store.releaseIDs(startingWith: "abc", limit: 2).count == 2)
            #expect(try await store.releaseIDs(startingWith: "nope", limit: 10).isEmpty)
        }
    }

    /// Saves that arrive out of order leave the latest state: an older revision is not
    /// written over a newer one.
    @Test(arguments: ["memory", "sqlite"])
    func anOlderStateDoesNotReplaceANewerOne(kind: String) async throws {
        try await Self.withStore(kind) { store in
            let newer = Self.release(id: "r1", status: .inProgress, events: 5)
            let older = Self.release(id: "r1", status: .inProgress, events: 4)
            try await store.save(newer)
            try await store.save(older)
            #expect(try await store.loadRelease(id: "r1") == newer)
            try await store.save(newer)
            #expect(try await store.loadRelease(id: "r1")?.revision == 5)
        }
    }

    @Test(arguments: ["memory", "sqlite"])
    func purgeDeletesOnlyOldFinishedReleases(kind: String) async throws {
        try await Self.withStore(kind) { store in
            try await store.save(Self.release(id: "old", status: .succeeded, created: 0))
            try await store.save(Self.release(id: "old-running", status: .inProgress, created: 0))
            try await store.save(Self.release(id: "recent", status: .failed, created: 1000))
            #expect(try await store.purgeReleases(finishedBefore: Fixtures.date(500)) == 1)
            #expect(try await store.listReleases(limit: 10, offset: 0).map(\.id).sorted() == ["old-running", "recent"])
        }
    }

    /// Releases and deployments share the file, and each survives a reopen.
    @Test func releasesAndDeploymentsShareTheFile() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("history.sqlite").path
        let deployment = try Fixtures.fullRecord(id: "r1.2")
        let release = Self.release(id: "r1", status: .inProgress)
        do {
            let store = try SQLiteDeploymentStore(path: path)
            try await store.save(deployment)
            try await store.save(release)
        }
        let reopened = try SQLiteDeploymentStore(path: path)
        #expect(try await reopened.load(id: "r1.2") == deployment)
        #expect(try await reopened.loadRelease(id: "r1") == release)
        #expect(try await reopened.unfinishedReleases().map(\.id) == ["r1"])
        #expect(try await reopened.list(DeploymentFilter()).map(\.id) == ["r1.2"])
        let row = try #require(try Fixtures.read(path) { db in try Row.fetchOne(db, sql: "SELECT * FROM releases WHERE id = 'r1'") })
        #expect(row["status"] as String == "IN_PROGRESS")
        #expect(row["name"] as String == "spring")
        #expect(row["revision"] as Int == release.revision)
        #expect(Date(timeIntervalSinceReferenceDate: row["created_at"] as Double) == release.createdAt)
    }

    /// A file at schema v2 with deployments in it opens with the full migrator: v3 adds the
    /// releases table and every deployment row, event and approval is kept.
    @Test func v2DatabaseGetsReleasesAndKeepsItsDeployments() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("v2.sqlite").path
        let full = try Fixtures.fullRecord(id: "full")
        var rejected = Fixtures.record(id: "rejected", status: .rejected, created: 5)
        rejected.approval = Fixtures.approval(false, by: "carol", reason: "freeze", at: 6)
        let plain = Fixtures.record(id: "plain", created: 10)
        do {
            let old = try DatabaseQueue(path: path)
            try StoreSchema.migrator.migrate(old, upTo: "v2")
            try Fixtures.write(old) { db in
                #expect(try !db.tableExists("releases"))
                // The v2 writer: deployments, events and approvals.
                for record in [full, rejected, plain] { try RecordWriter.write(record, json: try StoreCoding.encode(record), in: db) }
            }
            #expect(try Fixtures.read(path) { db in try StoreSchema.migrator.appliedMigrations(db) } == ["v1", "v2"])
        }

        let store = try SQLiteDeploymentStore(path: path)
        let (applied, events, approvals, releases) = try Fixtures.read(path) { db in
            (try StoreSchema.migrator.appliedMigrations(db),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM approvals") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM releases") ?? -1)
        }
        #expect(applied == ["v1", "v2", "v3", "v4", "v5", "v6"])
        #expect(events == full.events.count)
        #expect(approvals == 2)
        #expect(releases == 0)
        for record in [full, rejected, plain] { #expect(try await store.load(id: record.id) == record) }
        #expect(try await store.list(DeploymentFilter()).map(\.id) == ["plain", "rejected", "full"])
        #expect(try await store.unfinished().map(\.id) == ["full"])

        // Releases are saved into the upgraded file without touching the deployments.
        let release = Self.release(id: "r1", status: .pendingApproval)
        try await store.save(release)
        #expect(try await store.loadRelease(id: "r1") == release)
        #expect(try await store.unfinishedReleases().map(\.id) == ["r1"])
        #expect(try await store.load(id: "full") == full)
        #expect(try await store.list(DeploymentFilter()).count == 3)
    }

    /// A change writes what it changed: the state, the entries it names, the new events. The
    /// other entries stay as stored.
    @Test(arguments: ["memory", "sqlite"])
    func aChangeWritesItsEntriesAndNewEvents(kind: String) async throws {
        try await Self.withStore(kind) { store in
            let first = Self.release(id: "r1", status: .inProgress, events: 2)
            try await store.save(first)
            var later = first
            later.entries[1].status = .succeeded
            later.entries[1].newTaskDefinition = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
            later.entries[0].error = "changed, but not named by the change"
            later.status = .succeeded
            later.error = "state"
            later.finishedAt = Fixtures.date(9)
            later.events.append(ReleaseEvent(releaseID: "r1", sequence: 3, at: Fixtures.date(9), kind: .entrySucceeded,
                                             entry: "web", status: .succeeded, message: "done"))
            try await store.save(ReleaseChange(later, entries: [1], eventsFrom: 2))

            var expected = later
            expected.entries[0] = first.entries[0]
            #expect(try await store.loadRelease(id: "r1") == expected)
            #expect(try await store.unfinishedReleases().isEmpty)
            // Sent again (a retry), the events are not doubled.
            try await store.save(ReleaseChange(later, entries: [1], eventsFrom: 0))
            #expect(try await store.loadRelease(id: "r1")?.events.map(\.sequence) == [1, 2, 3])
        }
    }

    @Test(arguments: ["memory", "sqlite"])
    func aChangeOfAReleaseNotStoredIsRefused(kind: String) async throws {
        try await Self.withStore(kind) { store async throws in
            let release = Self.release(id: "r1", status: .inProgress)
            await #expect(throws: ReleaseNotStored.self) {
                try await store.save(ReleaseChange(release, entries: [0], eventsFrom: 1))
            }
            #expect(try await store.loadRelease(id: "r1") == nil)
            #expect(try await store.listReleases(limit: 10, offset: 0).isEmpty)
        }
    }

    /// Purging a release deletes its entry and event rows with it.
    @Test func purgeTakesTheEntriesAndEventsAlong() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("releases.sqlite").path
        let store = try SQLiteDeploymentStore(path: path)
        try await store.save(Self.release(id: "old", status: .succeeded, created: 0, events: 3))
        try await store.save(Self.release(id: "kept", status: .inProgress, created: 0, events: 4))
        #expect(try await store.purgeReleases(finishedBefore: Fixtures.date(500)) == 1)
        let (entries, events) = try Fixtures.read(path) { db in
            (try Row.fetchAll(db, sql: "SELECT release_id, COUNT(*) AS n FROM release_entries GROUP BY release_id"),
             try Row.fetchAll(db, sql: "SELECT release_id, COUNT(*) AS n FROM release_events GROUP BY release_id"))
        }
        #expect(entries.map { "\($0["release_id"] as String)=\($0["n"] as Int)" } == ["kept=2"])
        #expect(events.map { "\($0["release_id"] as String)=\($0["n"] as Int)" } == ["kept=4"])
    }

    /// A file at schema v3 holds each release whole in `releases.record`: v4 moves its entries
    /// and events to rows of their own, and each release reads back as it was. A record v4
    /// cannot read stays as it was, and reading it says which release and why.
    @Test func v3ReleasesAreSplitIntoRows() async throws {
        let folder = Fixtures.folder()
        defer { Fixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("v3.sqlite").path
        let running = Self.release(id: "r1", status: .inProgress, created: 0, events: 3)
        let done = Self.release(id: "r2", status: .succeeded, created: 5, events: 2)
        do {
            let old = try DatabaseQueue(path: path)
            try StoreSchema.migrator.migrate(old, upTo: "v3")
            try Fixtures.write(old) { db in
                // The v3 writer: the whole release as the record.
                for release in [running, done] {
                    try db.execute(sql: """
                        INSERT INTO releases (id, name, status, created_at, updated_at, finished_at, revision, record)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [release.id, release.request.name, release.status.rawValue, StoreCoding.column(release.createdAt),
                                         StoreCoding.column(release.updatedAt), release.finishedAt.map(StoreCoding.column),
                                         release.revision, try StoreCoding.encode(release)])
                }
                try db.execute(sql: """
                    INSERT INTO releases (id, name, status, created_at, updated_at, finished_at, revision, record)
                    VALUES ('broken', 'b', 'IN_PROGRESS', 9, 9, NULL, 1, '{"not": "a release"}')
                    """)
            }
        }
        let store = try SQLiteDeploymentStore(path: path)
        #expect(try await store.loadRelease(id: "r1") == running)
        #expect(try await store.loadRelease(id: "r2") == done)
        let error = await #expect(throws: StoreError.self) { try await store.loadRelease(id: "broken") }
        #expect("\(error.map { "\($0)" } ?? "")".contains("release broken"))
        let (applied, entries, events) = try Fixtures.read(path) { db in
            (try StoreSchema.migrator.appliedMigrations(db),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM release_entries") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM release_events") ?? 0)
        }
        #expect(applied == ["v1", "v2", "v3", "v4", "v5", "v6"])
        #expect(entries == 4)
        #expect(events == 5)

        // The upgraded release takes changes.
        var finished = running
        finished.status = .succeeded
        finished.entries[1].status = .succeeded
        finished.events.append(ReleaseEvent(releaseID: "r1", sequence: 4, at: Fixtures.date(2), kind: .releaseSucceeded,
                                            entry: "", status: .succeeded, message: "done"))
        try await store.save(ReleaseChange(finished, entries: [1], eventsFrom: 3))
        #expect(try await store.loadRelease(id: "r1") == finished)
    }
}
