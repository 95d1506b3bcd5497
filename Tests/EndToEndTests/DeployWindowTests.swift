import CloudModel
import DeployAPI
import Engine
import Foundation
@testable import Server
import Simulator
import Testing

/// `windows:` through the real server and client, on the simulator with the test clock (which
/// starts on Sunday 2025-06-15 at 15:06:40 UTC).
@Suite struct DeployWindowTests {
    static func server(_ yaml: String) async throws -> TestServer {
        try await TestServer(configure: { try! $0.apply(yaml: yaml, source: "config.yaml") }, simulator: SeedCommandsTests.mockMode)
    }

    func deploy(_ t: TestServer, _ id: String, service: String, strategy: String = "quicksync", extra: [String] = []) async -> ClientResult {
        await t.client(["-id", id, "-cluster", "prod", "-service", service, "-taskdef", LimitTests.taskdef(service), "-strategy", strategy] + extra)
    }

    func started(_ t: TestServer, _ id: String) async throws -> Date {
        try #require(try await t.server.engine.status(id: id).events.first { $0.kind == .deploymentStarted }?.at)
    }

    static func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Friday 18:00 to Monday 09:00: a deployment asked on Sunday waits, WAITING_WINDOW, until
    /// Monday's opening, then runs; with -no-wait-window it is refused, naming the opening.
    @Test func aWeekendFreezeHoldsADeploymentUntilMonday() async throws {
        let t = try await Self.server("""
            windows:
              - {kind: deny, schedule: "0 18 * * FRI", duration: 63h, time_zone: UTC, description: weekend freeze}
            """)
        #expect(await deploy(t, "w1", service: "web").code == 0)
        let waiting = try await t.status("w1")
        #expect(waiting.status == .waitingWindow)
        let events = try await t.server.engine.status(id: "w1").events
        #expect(events.last?.message == "waiting for a deploy window: deny window deny 0 18 * * FRI for 63h (UTC): weekend freeze is open; "
            + "starts at 2025-06-16T09:00:00Z", "\(events.map(\.message))")
        #expect(try await t.http("/metrics").body.contains("ecs_deployments_waiting_window 1"))
        let listed = await t.client(["-action", "list", "-status", "WAITING_WINDOW"])
        #expect(listed.out.contains { $0.contains("w1") }, "\(listed.text)")
        let refused = await deploy(t, "w2", service: "api", extra: ["-no-wait-window"])
        #expect(refused.err == ["error: prod/api may not be deployed now: deny window deny 0 18 * * FRI for 63h (UTC): weekend freeze is open; "
            + "the next opening is at 2025-06-16T09:00:00Z (-no-wait-window) (FAILED_PRECONDITION)"], "\(refused.text)")
        let done = try await t.driving(maxSimulated: .seconds(30 * 3600)) {
            while true {
                let d = try await t.status("w1")
                if [.succeeded, .failed, .rolledBack].contains(d.status) { return d }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        #expect(done.status == .succeeded, "\(done.error)")
        let start = try await started(t, "w1")
        #expect(start >= Self.utc("2025-06-16T09:00:00Z") && start < Self.utc("2025-06-16T09:00:10Z"), "\(start.ISO8601Format())")
        #expect(try await t.http("/metrics").body.contains("ecs_deployments_waiting_window 0"))
        try await t.stop()
    }

    /// An admin's override with a reason starts a waiting deployment now, recorded in the audit
    /// log; without a reason it is refused.
    @Test func anAdminOverrideStartsItNowAndIsAudited() async throws {
        let audit = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: audit) }
        let t = try await TestServer(configure: {
            try! $0.apply(yaml: "windows:\n  - {kind: deny, schedule: \"0 18 * * FRI\", duration: 63h}\n", source: "config.yaml")
        }, simulator: SeedCommandsTests.mockMode, auditPath: audit)
        #expect(await deploy(t, "o1", service: "web").code == 0)
        #expect(try await t.status("o1").status == .waitingWindow)
        let noReason = await t.client(["-id", "o1", "-action", "approve", "-approver", "root"])
        #expect(noReason.err == ["error: reason: is required to start a deployment outside its deploy window (INVALID_ARGUMENT)"], "\(noReason.text)")
        let overridden = await t.client(["-id", "o1", "-action", "approve", "-approver", "root", "-reason", "hotfix for INC-42"])
        #expect(overridden.code == 0, "\(overridden.text)")
        let done = try await t.waitUntilFinished("o1")
        #expect(done.status == .succeeded, "\(done.error)")
        #expect(t.clock.sleeperCount == 0, "the queue's timer went with the queue")
        #expect(try await started(t, "o1") < Self.utc("2025-06-15T15:07:00Z"), "started at once, on Sunday")
        try await t.stop()
        let log = try String(contentsOfFile: audit, encoding: .utf8)
        #expect(log.contains("window.overridden") && log.contains("started outside its deploy window by root: hotfix for INC-42"), "\(log)")
    }

    /// Allow windows across midnight in Tokyo (UTC+9): 23:00-02:00 is open at 00:06 JST, so
    /// `a` starts at once; 01:00-03:00 is not yet, so `b` waits for 01:00 JST (16:00 UTC).
    @Test func allowWindowsInTokyoTime() async throws {
        let t = try await Self.server("""
            windows:
              - {kind: allow, schedule: "0 23 * * *", duration: 3h, time_zone: Asia/Tokyo, match: {service: "a*"}}
              - {kind: allow, schedule: "0 1 * * *", duration: 2h, time_zone: Asia/Tokyo, match: {service: "b*"}}
            """)
        #expect(await deploy(t, "t1", service: "a1").code == 0)
        #expect(await deploy(t, "t2", service: "b1").code == 0)
        #expect(try await t.status("t2").status == .waitingWindow)
        #expect(try await t.waitUntilFinished("t1").status == .succeeded)
        #expect(try await t.waitUntilFinished("t2").status == .succeeded)
        #expect(try await started(t, "t1") < Self.utc("2025-06-15T15:07:00Z"))
        let b = try await started(t, "t2")
        #expect(b >= Self.utc("2025-06-15T16:00:00Z") && b < Self.utc("2025-06-15T16:00:10Z"), "\(b.ISO8601Format())")
        try await t.stop()
    }

    /// A deployment running when its window closes finishes (no half-deployed service).
    @Test func aWindowClosingMidDeploymentLetsItFinish() async throws {
        let t = try await Self.server("windows:\n  - {kind: allow, schedule: \"0 15 * * *\", duration: 10m}\n")
        #expect(await deploy(t, "m1", service: "web", strategy: "canary", extra: ["-config", #"{"canary_stages":"50,100","stage_timeout":"5m"}"#]).code == 0)
        let done = try await t.waitUntilFinished("m1")
        #expect(done.status == .succeeded, "\(done.error)")
        let record = try await t.server.engine.status(id: "m1")
        #expect((record.finishedAt ?? .distantPast) > Self.utc("2025-06-15T15:10:00Z"), "it ran past the window's end")
        try await t.stop()
    }

    @Test func configNamesTheField() throws {
        NotificationTests.expectRefused([
            ("windows:\n  - {kind: maybe, schedule: \"* * * * *\", duration: 1h}\n", "windows[0].kind: is required: allow or deny"),
            ("windows:\n  - {kind: deny, schedule: \"0 25 * * *\", duration: 1h}\n", "windows[0].schedule: hour '25' is not in 0-23"),
            ("windows:\n  - {kind: deny, schedule: \"0 1 * *\", duration: 1h}\n", "windows[0].schedule: '0 1 * *' must have 5 fields"),
            ("windows:\n  - {kind: deny, schedule: \"0 1 * * *\"}\n", "windows[0].duration: is required"),
            ("windows:\n  - {kind: deny, schedule: \"0 1 * * *\", duration: 1h, time_zone: Mars/Olympus}\n", "windows[0].time_zone: 'Mars/Olympus' is not a time zone"),
        ])
    }
}

/// Cron schedules and what the windows allow, without a server.
@Suite struct CronScheduleTests {
    let utc = TimeZone(identifier: "UTC")!

    @Test func nextFiringTimes() throws {
        let sunday = DeployWindowTests.utc("2025-06-15T15:06:40Z")
        let weekdays = try CronSchedule("*/15 9-17 * * MON-FRI", timeZone: utc)
        #expect(weekdays.next(after: sunday) == DeployWindowTests.utc("2025-06-16T09:00:00Z"))
        #expect(weekdays.next(after: DeployWindowTests.utc("2025-06-16T09:00:00Z")) == DeployWindowTests.utc("2025-06-16T09:15:00Z"))
        let firstOfMonth = try CronSchedule("30 2 1 * *", timeZone: TimeZone(identifier: "Europe/Paris")!)
        #expect(firstOfMonth.next(after: sunday) == DeployWindowTests.utc("2025-07-01T00:30:00Z"), "02:30 in Paris is 00:30 UTC in summer")
        let either = try CronSchedule("0 0 13 * 5", timeZone: utc)
        #expect(either.next(after: sunday) == DeployWindowTests.utc("2025-06-20T00:00:00Z"), "a Friday before the 13th: either day field matches")
    }

    @Test func denyBeatsAllowAndTheNextOpeningIsFound() throws {
        let t = DeployWindowTests.utc("2025-06-15T15:06:40Z")
        let allow = DeployWindow(kind: .allow, schedule: try CronSchedule("0 15 * * *", timeZone: utc), duration: .seconds(3600))
        let deny = DeployWindow(kind: .deny, schedule: try CronSchedule("0 15 * * SUN", timeZone: utc), duration: .seconds(1800))
        #expect(DeployWindows.closed([allow], at: t) == nil)
        #expect(DeployWindows.closed([allow, deny], at: t)?.hasPrefix("deny window") == true)
        #expect(DeployWindows.nextOpening([allow, deny], from: t) == DeployWindowTests.utc("2025-06-15T15:30:00Z"))
        #expect(DeployWindows.nextOpening([allow], from: DeployWindowTests.utc("2025-06-15T17:00:00Z")) == DeployWindowTests.utc("2025-06-16T15:00:00Z"))
        #expect(DeployWindows.nextOpening([], from: t) == t)
    }
}
