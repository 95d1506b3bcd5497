import CloudModel
import DeployAPI
import Engine
import Foundation
@testable import Server
import Simulator
import Testing

/// Releases at a time (`-at`, the manifest's `schedule`) and inside deploy windows, through the
/// real server and client on the simulator with the test clock (which starts on Sunday
/// 2025-06-15 at 15:06:40 UTC).
@Suite struct ReleaseScheduleTests {
    static func started(_ t: TestServer, _ id: String) async throws -> Date {
        let events = try await ReleaseTests.events(t, id)
        return try #require(events.first { $0.type == "release.started" }?.at.date)
    }

    /// Planned now, started at its time, with a restart in between: the plan made before the
    /// restart is what runs.
    @Test func aScheduledReleaseStartsAtItsTimeAfterARestart() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("release-at-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("history.sqlite").path
        let first = try await TestServer(storagePath: path)
        let previous = try ReleaseTests.seed(first, ["web", "api"])
        let file = try ReleaseTests.write(ReleaseTests.manifest(services: [("web", "repo/web:2"), ("api", "repo/api:2")]))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let at = first.clock.now().addingTimeInterval(1800)
        let accepted = await first.client(["-action", "release", "-file", file, "-id", "night", "-at", at.ISO8601Format()])
        #expect(accepted.code == 0, "\(accepted.text)")
        #expect(accepted.out.first?.hasSuffix("status PENDING, starts at \(at.ISO8601Format())") == true,
                "\(accepted.text)")
        let waiting = try await ReleaseTests.release(first, "night")
        #expect(waiting.status == .pending && waiting.startAt.date == at)
        let message = try await first.server.releases.status(id: "night").events.last?.message
        #expect(message == "scheduled: starts at \(at.ISO8601Format())")
        for name in ["web", "api"] { ReleaseTests.expectOn(first, name, previous[name]) }
        try await first.stop()

        let second = try await TestServer(storagePath: path, restarting: first)
        let done = try await ReleaseRecoveryTests.finished(second, "night")
        #expect(done.status == .succeeded, "\(done.error)")
        let start = try await Self.started(second, "night")
        #expect(start >= at && start < at.addingTimeInterval(10), "started at \(start.ISO8601Format())")
        for name in ["web", "api"] {
            let td = try #require(second.service(name)?.taskDefinition)
            #expect(try ReleaseTests.images(second, td) == ["repo/\(name):2"])
        }
        try await second.stop()
    }

    /// The manifest's `schedule`; a rollback before the time cancels the release (nothing
    /// starts); a bad time names the field and the line.
    @Test func aManifestScheduleIsCancelledByARollback() async throws {
        let t = try await TestServer()
        let previous = try ReleaseTests.seed(t, ["web"])
        let file = try ReleaseTests.write(ReleaseTests.manifest("schedule: \"2025-06-16T02:00:00 Europe/Paris\"", services: [("web", "repo/web:2")]))
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(await t.client(["-action", "release", "-file", file, "-id", "paris"]).code == 0)
        #expect(try await ReleaseTests.release(t, "paris").startAt.date == ISO8601DateFormatter().date(from: "2025-06-16T00:00:00Z"))
        let cancelled = await t.client(["-action", "rollback", "-id", "paris", "-reason", "not tonight"])
        #expect(cancelled.code == 0, "\(cancelled.text)")
        let done = try await ReleaseRecoveryTests.finished(t, "paris")
        #expect(done.status == .rolledBack, "\(done.status) \(done.error)")
        #expect(done.entries.map(\.status) == ["NOT_STARTED"])
        #expect(try await ReleaseTests.events(t, "paris").contains { $0.type == "release.started" && $0.entry.isEmpty } == true)
        ReleaseTests.expectOn(t, "web", previous["web"])
        #expect(t.clock.sleeperCount == 0, "the wait went with the release")

        let bad = try ReleaseTests.write(ReleaseTests.manifest("schedule: tomorrow", services: [("web", "repo/web:2")]))
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let refused = await t.client(["-action", "release", "-file", bad])
        #expect(refused.err.first?.contains("deployment-") == true && refused.err.first?.contains(":1: schedule: 'tomorrow' is not a time") == true,
                "\(refused.text)")
        try await t.stop()
    }

    /// A release whose services have a deny window open waits, WAITING_WINDOW, until every one
    /// of them may deploy; `-action windows` says so for each service.
    @Test func aReleaseWaitsForTheWindowsOfAllItsServices() async throws {
        let t = try await TestServer(configure: {
            try! $0.apply(yaml: """
                windows:
                  - {kind: deny, schedule: "0 12 * * SUN", duration: 6h, match: {service: web}, description: sunday matinee}
                  - {kind: deny, schedule: "0 15 * * SUN", duration: 4h, match: {service: api}}
                """, source: "config.yaml")
        })
        _ = try ReleaseTests.seed(t, ["web", "api"])
        let windows = await t.client(["-action", "windows", "-cluster", "prod", "-service", "web"])
        #expect(windows.code == 1, "\(windows.text)")
        #expect(windows.out == [
            "Service prod/web: may not deploy now: deny window deny 0 12 * * SUN for 6h (UTC): sunday matinee is open; next opening 2025-06-15T18:00:00Z",
            "  deny 0 12 * * SUN for 6h (UTC): sunday matinee - open now",
        ], "\(windows.text)")
        let free = await t.client(["-action", "windows", "-cluster", "prod", "-service", "db"])
        #expect(free.code == 0 && free.out == ["Service prod/db: no window applies: it may deploy at any time"], "\(free.text)")

        let file = try ReleaseTests.write(ReleaseTests.manifest(services: [("web", "repo/web:2"), ("api", "repo/api:2")]))
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(await t.client(["-action", "release", "-file", file, "-id", "held"]).code == 0)
        #expect(try await ReleaseTests.release(t, "held").status == .waitingWindow)
        let message = try await t.server.releases.status(id: "held").events.last?.message
        #expect(message
            == "waiting for a deploy window: web: deny window deny 0 12 * * SUN for 6h (UTC): sunday matinee is open; starts at 2025-06-15T19:00:00Z")
        let done = try await ReleaseRecoveryTests.finished(t, "held")
        #expect(done.status == .succeeded, "\(done.error)")
        let start = try await Self.started(t, "held")
        #expect(start >= ISO8601DateFormatter().date(from: "2025-06-15T19:00:00Z")!, "\(start.ISO8601Format())")
        try await t.stop()
    }
}
