import CloudModel
import DeployAPI
import Engine
import Foundation
@testable import Server
import Simulator
import Testing

/// `-at`: a deployment accepted now and started then, through the real server and client on
/// the simulator with the test clock; cancellable, and kept across a restart.
@Suite struct ScheduledStartTests {
    func deploy(_ t: TestServer, _ id: String, at: String) async -> ClientResult {
        await t.client(["-id", id, "-cluster", "prod", "-service", "web", "-taskdef", LimitTests.taskdef("web"), "-strategy", "quicksync",
                        "-at", at])
    }

    @Test func aScheduledDeploymentStartsAtItsTime() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        let at = t.clock.now().addingTimeInterval(2 * 3600)
        // The same instant, written in Tokyo's local time.
        let tokyo = DateFormatter()
        tokyo.locale = Locale(identifier: "en_US_POSIX")
        tokyo.timeZone = TimeZone(identifier: "Asia/Tokyo")
        tokyo.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        let accepted = await deploy(t, "at1", at: tokyo.string(from: at) + " Asia/Tokyo")
        #expect(accepted.code == 0, "\(accepted.text)")
        #expect(try await t.status("at1").status == .pending)
        let events = try await t.server.engine.status(id: "at1").events
        #expect(events.last?.kind == .deploymentQueued && events.last?.message == "scheduled: starts at \(at.ISO8601Format())",
                "\(events.map(\.message))")
        let done = try await t.waitUntilFinished("at1")
        #expect(done.status == .succeeded, "\(done.error)")
        let started = try #require(try await t.server.engine.status(id: "at1").events.first { $0.kind == .deploymentStarted }?.at)
        #expect(started >= at && started < at.addingTimeInterval(10), "started at \(started.ISO8601Format())")
        try await t.stop()
    }

    @Test func aScheduledDeploymentCanBeCancelledAndABadTimeIsRefused() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        #expect(await deploy(t, "at2", at: t.clock.now().addingTimeInterval(3600).ISO8601Format()).code == 0)
        let cancelled = await t.client(["-id", "at2", "-action", "rollback", "-reason", "change freeze"])
        #expect(cancelled.code == 0, "\(cancelled.text)")
        let d = try await t.waitUntilFinished("at2")
        #expect(d.status == .rolledBack && d.error.contains("rollback requested"), "\(d.status) \(d.error)")
        #expect(try await t.server.engine.status(id: "at2").events.contains { $0.kind == .deploymentStarted } == false)
        let bad = await deploy(t, "at3", at: "next friday")
        #expect(bad.err == ["error: config.start_at: 'next friday' is not a time: 2026-12-24T02:00:00Z, 2026-12-24T11:00:00+09:00 "
            + "or 2026-12-24T11:00:00 Asia/Tokyo (INVALID_ARGUMENT)"], "\(bad.text)")
        let far = await deploy(t, "at6", at: "2030-01-01T00:00:00Z")
        #expect(far.err == ["error: config.start_at: '2030-01-01T00:00:00Z' is more than a year ahead (INVALID_ARGUMENT)"], "\(far.text)")
        let zone = await deploy(t, "at4", at: "2026-12-24T11:00:00 Mars/Olympus")
        #expect(zone.err.first?.contains("no time zone Mars/Olympus") == true, "\(zone.text)")
        try await t.stop()
    }

    @Test func aScheduledDeploymentOutlivesARestart() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("at-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("deployments.sqlite").path
        let first = try await TestServer(simulator: SeedCommandsTests.mockMode, storagePath: path)
        let at = first.clock.now().addingTimeInterval(1800)
        #expect(await deploy(first, "at5", at: at.ISO8601Format()).code == 0)
        try await first.stop()
        let second = try await TestServer(storagePath: path, restarting: first)
        let done = try await second.waitUntilFinished("at5")
        #expect(done.status == .succeeded, "\(done.error)")
        let started = try #require(try await second.server.engine.status(id: "at5").events.first { $0.kind == .deploymentStarted }?.at)
        #expect(started >= at)
        try await second.stop()
    }
}
