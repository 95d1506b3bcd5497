import Audit
import DeployAPI
import Foundation
import Server
import Testing

/// Releases across a restart: the server on an SQLite file, stopped gracefully while a
/// release runs (or waits), started again on the same file and the same simulator (a cloud
/// that outlived it).
@Suite(.timeLimit(.minutes(5)))
struct ReleaseRecoveryTests {
    /// The grace period is wall time and the clock stands still meanwhile: what runs is checkpointed.
    static func configure(_ config: inout ServerConfig) { config.gracefulTimeout = .milliseconds(100) }

    struct Files {
        let folder: URL
        var database: String { folder.appendingPathComponent("data/history.sqlite").path }
        var audit: String { folder.appendingPathComponent("data/audit.log").path }

        init() {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("release-recovery-\(UUID().uuidString)")
        }

        func start(restarting previous: TestServer? = nil) async throws -> TestServer {
            try await TestServer(configure: ReleaseRecoveryTests.configure, storagePath: database, auditPath: audit,
                                 restarting: previous)
        }

        func remove() { try? FileManager.default.removeItem(at: folder) }

        /// The audit log's event types, in order.
        func auditTypes() throws -> [String] {
            try String(contentsOfFile: audit, encoding: .utf8).split(separator: "\n").map { line in
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                return object?["event_type"] as? String ?? ""
            }
        }
    }

    /// Drives the clock until the release has a final status.
    static func finished(_ t: TestServer, _ id: String) async throws -> Deployment_V1_Release {
        try await t.driving {
            while true {
                let release = try await ReleaseTests.release(t, id)
                if [.succeeded, .failed, .rolledBack, .rejected, .interrupted].contains(release.status) { return release }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// Steps the clock a second at a time until `done` holds.
    static func step(_ t: TestServer, until done: () async throws -> Bool) async throws {
        for step in 0... {
            guard step < 20_000 else { throw TestFailure("the release never reached the point to stop at") }
            if try await done() { return }
            if t.clock.sleeperCount > 0 { t.clock.advance(by: .seconds(1)) }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    @Test func aReleaseStoppedMidwayResumesAfterTheRestartAndSucceeds() async throws {
        let files = Files()
        defer { files.remove() }
        let first = try await files.start()
        let names = ["web", "api", "worker"]
        _ = try ReleaseTests.seed(first, names)
        _ = try ReleaseTests.seedRule(first, rule: "nightly", family: "job")
        let file = try ReleaseTests.write(ReleaseTests.manifest(tasks: [("job", "nightly", "repo/job:2")],
                                                                services: names.map { ($0, "repo/\($0):2") }, waves: ["worker": 2]))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let submitted = await first.client(["-action", "release", "-file", file, "-id", "r1"])
        #expect(submitted.code == 0, "\(submitted.text)")

        // Stop while wave 1 deploys (its deployments wait for their tasks) and wave 2 waits.
        try await Self.step(first) {
            let release = try await ReleaseTests.release(first, "r1")
            let wave1 = release.entries.filter { $0.label == "web" || $0.label == "api" }
            guard wave1.count == 2, wave1.allSatisfy({ $0.status == "IN_PROGRESS" && !$0.deploymentID.isEmpty }) else { return false }
            for entry in wave1 {
                if try await first.status(entry.deploymentID).currentStage != "waitForStability" { return false }
            }
            return true
        }
        try await first.stop()
        let stopped = try await first.server.releases.status(id: "r1")
        #expect(stopped.status == .inProgress)
        #expect(stopped.events.last?.type == "release.checkpointed", "\(stopped.events.map(\.type))")
        let statuses = Dictionary(uniqueKeysWithValues: stopped.entries.map { ($0.entry.label, $0.status) })
        #expect(statuses == ["job": .succeeded, "web": .inProgress, "api": .inProgress, "worker": .pending], "\(statuses)")
        #expect(stopped.entries.allSatisfy { $0.error.isEmpty }, "a checkpointed deployment is not a failure")

        let second = try await files.start(restarting: first)
        let release = try await Self.finished(second, "r1")
        #expect(release.status == .succeeded, "\(release.error)")
        #expect(release.entries.map(\.status) == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"])
        for name in names {
            let td = try #require(second.service(name)?.taskDefinition)
            #expect(try ReleaseTests.images(second, td) == ["repo/\(name):2"], "\(name)")
            ReleaseTests.expectOn(second, name, td)
        }
        let events = try await ReleaseTests.events(second, "r1").map(\.type)
        #expect(events.contains("release.checkpointed") && events.contains("release.recovered"), "\(events)")
        #expect(events.filter { $0 == "entry.resumed" }.count == 2, "\(events)")
        #expect(events.filter { $0 == "release.started" }.count == 1, "\(events)")
        #expect(!events.contains("entry.failed"), "\(events)")
        // Each wave 1 deployment was checkpointed, resumed by the engine, and succeeded once.
        for entry in release.entries where entry.label == "web" || entry.label == "api" {
            let deployment = try await second.status(entry.deploymentID)
            #expect(deployment.status == .succeeded)
        }

        // The id still names this release: the same manifest answers with it, another is refused.
        let again = await second.client(["-action", "release", "-file", file, "-id", "r1"])
        #expect(again.code == 0, "\(again.text)")
        #expect(try await ReleaseTests.release(second, "r1").status == .succeeded)
        let other = try ReleaseTests.write(ReleaseTests.manifest(services: [("web", "repo/web:3")]))
        defer { try? FileManager.default.removeItem(atPath: other) }
        let conflict = await second.client(["-action", "release", "-file", other, "-id", "r1"])
        #expect(conflict.code == 1, "\(conflict.text)")
        #expect(conflict.text.contains("already used by a different manifest"), "\(conflict.text)")
        try await second.stop()

        let audited = try files.auditTypes()
        for type in ["release.accepted", "release.started", "release.checkpointed", "release.recovered", "release.entry_succeeded",
                     "release.succeeded", "deployment.checkpointed", "deployment.recovered"] {
            #expect(audited.contains(type), "\(type) not in \(audited)")
        }
        #expect(try AuditLog.verify(path: files.audit).isValid)
    }

    @Test func aReleaseWaitingForApprovalSurvivesARestartAndCanBeApproved() async throws {
        let files = Files()
        defer { files.remove() }
        let first = try await files.start()
        let names = ["web", "worker"]
        let previous = try ReleaseTests.seed(first, names)
        // A release finished before the restart stays readable after it.
        let done = try ReleaseTests.write(ReleaseTests.manifest(services: [("web", "repo/web:1")]))
        defer { try? FileManager.default.removeItem(atPath: done) }
        #expect(await first.client(["-action", "release", "-file", done, "-id", "r0"]).code == 0)
        let gated = try ReleaseTests.write(ReleaseTests.manifest("approval: required", services: names.map { ($0, "repo/\($0):2") }))
        defer { try? FileManager.default.removeItem(atPath: gated) }
        let submitted = await first.client(["-action", "release", "-file", gated, "-id", "r2"])
        #expect(submitted.out.first?.hasSuffix("status PENDING_APPROVAL") == true, "\(submitted.text)")
        try await first.stop()

        let second = try await files.start(restarting: first)
        #expect(try await ReleaseTests.release(second, "r2").status == .pendingApproval)
        #expect(try await ReleaseTests.release(second, "r0").status == .succeeded)
        let list = await second.client(["-action", "list"])
        #expect(list.out.contains { $0.hasPrefix("  r2 ") && $0.contains("PENDING_APPROVAL") }, "\(list.text)")
        #expect(list.out.contains { $0.hasPrefix("  r0 ") && $0.contains("SUCCEEDED") }, "\(list.text)")
        for name in names { ReleaseTests.expectOn(second, name, previous[name]) }

        let approved = try await second.driving {
            await second.client(["-action", "approve", "-id", "r2", "-approver", "alice", "-reason", "after the restart", "-wait"])
        }
        #expect(approved.code == 0, "\(approved.text)")
        #expect(approved.out.last?.hasPrefix("Release r2: SUCCEEDED") == true, "\(approved.text)")
        for name in names {
            let td = try #require(second.service(name)?.taskDefinition)
            #expect(try ReleaseTests.images(second, td) == ["repo/\(name):2"], "\(name)")
        }
        try await second.stop()
        let audited = try files.auditTypes()
        #expect(audited.contains("release.approval_requested") && audited.contains("release.approved"), "\(audited)")
        #expect(try AuditLog.verify(path: files.audit).isValid)
    }

    @Test func aRollbackStoppedMidwayContinuesAfterTheRestart() async throws {
        let files = Files()
        defer { files.remove() }
        let first = try await files.start()
        let names = ["web", "api"]
        let previous = try ReleaseTests.seed(first, names)
        let file = try ReleaseTests.write(ReleaseTests.manifest(services: names.map { ($0, "repo/\($0):2") }))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let released = try await first.driving { await first.client(["-action", "release", "-file", file, "-id", "r3", "-wait"]) }
        #expect(released.out.last?.hasPrefix("Release r3: SUCCEEDED") == true, "\(released.text)")

        let rollback = await first.client(["-action", "rollback", "-id", "r3", "-reason", "regression"])
        #expect(rollback.code == 0, "\(rollback.text)")
        // Stop while the deployments roll back (each waits for the previous revision's tasks).
        try await Self.step(first) {
            let release = try await ReleaseTests.release(first, "r3")
            guard release.entries.allSatisfy({ $0.status == "ROLLING_BACK" }) else { return false }
            for entry in release.entries {
                if try await first.status(entry.deploymentID).status != .rollingBack { return false }
            }
            return true
        }
        try await first.stop()
        #expect(try await first.server.releases.status(id: "r3").status == .rollingBack)

        let second = try await files.start(restarting: first)
        let release = try await Self.finished(second, "r3")
        #expect(release.status == .rolledBack, "\(release.error)")
        #expect(release.entries.map(\.status) == ["ROLLED_BACK", "ROLLED_BACK"])
        for name in names { ReleaseTests.expectOn(second, name, previous[name]) }
        try await second.stop()
    }
}
