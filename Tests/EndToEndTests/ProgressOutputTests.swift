import ClientCLI
import Foundation
import Synchronization
import Testing

/// What `watch` and `-wait` print: transitions only off a terminal, one live line on one, JSON
/// for CI systems; `rollback -wait` follows the rollback alone.
@Suite struct ProgressOutputTests {
    static let deploy = ["-cluster", "prod", "-service", "web", "-taskdef", #"{"family":"web"}"#, "-strategy", "canary",
                         "-config", #"{"canary_stages":"50,100","stage_timeout":"5m"}"#]

    /// A terminal that remembers the live lines.
    final class Terminal: ClientOutput {
        let lines = Mutex<(out: [String], live: [String])>(([], []))
        var isTerminal: Bool { true }
        func out(_ line: String) { lines.withLock { $0.out.append(line) } }
        func err(_ line: String) { lines.withLock { $0.out.append(line) } }
        func live(_ line: String) { lines.withLock { $0.live.append(line) } }
    }

    @Test func transitionsOffATerminalAndALiveLineOnOne() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        let piped = try await t.driving { await t.client(["-id", "c1", "-action", "deploy", "-wait"] + Self.deploy) }
        #expect(piped.code == 0, "\(piped.text)")
        #expect(!piped.out.contains { $0.contains("stage.progress") }, "\(piped.out.filter { $0.contains("progress") }.prefix(3))")
        #expect(piped.out.contains { $0.contains("stage.succeeded bake(5m, canary at 50%)") })
        #expect(piped.out.count < 60, "\(piped.out.count) lines")

        let terminal = Terminal()
        let code = await ClientCLI.run(["-id", "c1", "-action", "watch"], output: terminal, connection: t.inProcess?.connection)
        #expect(code == 0)
        let (out, live) = terminal.lines.withLock { ($0.out, $0.live) }
        #expect(!live.isEmpty && live.allSatisfy { $0.contains("stage.progress") }, "\(live.prefix(3))")
        #expect(!out.contains { $0.contains("stage.progress") })
        try await t.stop()
    }

    @Test func jsonEventsForCISystems() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        let r = try await t.driving { await t.client(["-id", "j1", "-action", "deploy", "-wait", "-output", "json"] + Self.deploy) }
        #expect(r.code == 0, "\(r.text)")
        let events = r.out.dropFirst().map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!events.isEmpty && events.allSatisfy { $0?["deployment_id"] as? String == "j1" && $0?["type"] != nil }, "\(r.out.prefix(3))")
        #expect(events.last??["type"] as? String == "deployment.succeeded")
        #expect(await t.client(["-action", "list", "-output", "yaml"]).code == 2)
        try await t.stop()
    }

    @Test func rollbackWaitFollowsTheRollbackOnly() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        #expect(try await t.driving { await t.client(["-id", "r1", "-action", "deploy", "-wait"] + Self.deploy) }.code == 0)
        let r = try await t.driving { await t.client(["-id", "r1", "-action", "rollback", "-wait", "-reason", "bad"]) }
        #expect(r.code == 0, "a rollback that succeeds exits 0: \(r.text)")
        #expect(r.out.first == "Rollback of r1 started: status ROLLING_BACK")
        #expect(r.out.dropFirst().first?.contains("rollback.requested") == true, "\(r.out.prefix(3))")
        #expect(!r.out.contains { $0.contains("deployment.accepted") }, "no replay of the deployment")
        #expect(r.out.last?.hasPrefix("Deployment r1: ROLLED_BACK") == true, "\(r.out.suffix(2))")
        try await t.stop()
    }
}
