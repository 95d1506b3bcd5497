import DeployAPI
import Engine
import Foundation
@testable import Server
import Simulator
import Synchronization
import Testing

/// The server's real hook runner: HTTP hooks posted to a loopback stub during deployments
/// through the real server and client, and `exec:` hooks run as local commands.
@Suite struct HookRunnerTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#

    /// Services created on the fly with the EXTERNAL controller and a load balancer.
    static var mockMode: SimulatorSettings {
        var s = SimulatorSettings()
        s.autoCreate = true
        s.autoCreateController = .external
        return s
    }

    static func config(_ settings: [String: String]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(settings), as: UTF8.self)
    }

    static func temporaryFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString).json").path
    }

    static func payload(_ id: String) throws -> HookPayload {
        let json = #"{"hook":"post_success","deployment_id":"\#(id)","cluster":"prod","service":"web","strategy":"canary","#
            + #""status":"IN_PROGRESS","stage":"promote","traffic_percent":100}"#
        return try JSONDecoder().decode(HookPayload.self, from: Data(json.utf8))
    }

    func deploy(_ t: TestServer, _ id: String, strategy: String, config: [String: String]) async throws -> Deployment_V1_Deployment {
        let accepted = await t.client(["-id", id, "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef,
                                       "-strategy", strategy, "-config", try Self.config(config)])
        #expect(accepted.code == 0, "\(accepted.text)")
        return try await t.waitUntilFinished(id)
    }

    // MARK: HTTP hooks through a deployment

    @Test func httpHooksReceiveEachPointsPayload() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let t = try await TestServer(configure: {
            $0.hookDefinitions = ["pre": stub.url("/ok/pre"), "shift": stub.url("/ok/shift"), "success": stub.url("/ok/success")]
        }, simulator: Self.mockMode)
        let d = try await deploy(t, "h1", strategy: "canary", config: [
            "canary_stages": "50,100", "hook_pre_traffic": "pre", "hook_post_shift": "shift", "hook_post_success": "success",
        ])
        #expect(d.status == .succeeded, "\(d.error)")
        #expect(!d.taskDefinitionArn.isEmpty)

        let received = stub.received
        #expect(received.map(\.path) == ["/ok/pre", "/ok/shift", "/ok/shift", "/ok/success"])
        #expect(received.allSatisfy { $0.method == "POST" && $0.contentType == "application/json" })
        let payloads = received.compactMap(\.payload)
        #expect(payloads.count == received.count, "every request carries a hook payload")
        #expect(payloads.map(\.hook) == ["pre_traffic", "post_shift", "post_shift", "post_success"])
        #expect(payloads.map(\.trafficPercent) == [nil, 50, 100, 100])
        #expect(payloads.first?.stage == "hook(pre_traffic)")
        for p in payloads {
            #expect(p.deploymentID == "h1")
            #expect(p.cluster == "prod")
            #expect(p.service == "web")
            #expect(p.strategy == "canary")
            #expect(p.status == "IN_PROGRESS")
            #expect(p.taskDefinition == d.taskDefinitionArn)
            #expect(p.error == nil)
        }
        let events = try await t.server.engine.status(id: "h1").events
        #expect(events.contains { $0.type == "hook.succeeded" && $0.message == "post_success hook success succeeded" })
        try await t.stop()
    }

    @Test func failingPreTrafficHookRollsBack() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let t = try await TestServer(configure: {
            $0.hookDefinitions = ["pre": stub.url("/fail/pre"), "shift": stub.url("/ok/shift")]
        }, simulator: Self.mockMode)
        let d = try await deploy(t, "h2", strategy: "canary", config: ["hook_pre_traffic": "pre", "hook_post_shift": "shift"])
        #expect(d.status == .rolledBack)
        #expect(d.error.contains("hook(pre_traffic): answered HTTP 500"), "\(d.error)")
        // The hook ran once the new tasks were healthy, before any traffic moved: no traffic
        // shift, no post-shift hook, and the rollback deleted the new task set.
        #expect(stub.received.map(\.path) == ["/fail/pre"])
        #expect(d.stages.first { $0.name.hasPrefix("waitTaskSetHealthy") }?.status == .stageSucceeded)
        #expect(d.stages.first { $0.name.hasPrefix("routeTraffic") }?.status == .stagePending)
        #expect(d.rollbackStages.map(\.name) == ["waitTaskSetHealthy(previous)", "routeTraffic(0%)", "deleteTaskSet(new)"], "\(d.rollbackStages.map(\.name))")
        #expect(t.service("web")?.taskSets.count == 1)
        #expect(t.sim.trafficViolations.isEmpty)
        try await t.stop()
    }

    @Test func failingPostSuccessHookIsOnlyReported() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let t = try await TestServer(configure: { $0.hookDefinitions = ["notify": stub.url("/fail/success")] }, simulator: Self.mockMode)
        let d = try await deploy(t, "h3", strategy: "quicksync", config: ["hook_post_success": "notify"])
        #expect(d.status == .succeeded, "\(d.error)")
        #expect(d.error.isEmpty)
        #expect(stub.received.map(\.path) == ["/fail/success"])
        let events = try await t.server.engine.status(id: "h3").events
        let failed = events.first { $0.type == "hook.failed" }
        #expect(failed?.message == "post_success hook notify failed: answered HTTP 500")
        try await t.stop()
    }

    @Test func execHookRunsInADeployment() async throws {
        let file = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let t = try await TestServer(configure: { $0.hookDefinitions = ["record": "exec:cat > '\(file)'"] }, simulator: Self.mockMode)
        let d = try await deploy(t, "h4", strategy: "quicksync", config: ["hook_post_success": "record"])
        #expect(d.status == .succeeded, "\(d.error)")
        let payload = try JSONDecoder().decode(HookPayload.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(payload.hook == "post_success")
        #expect(payload.deploymentID == "h4")
        #expect(payload.strategy == "quicksync")
        try await t.stop()
    }

    // MARK: exec: hooks directly

    // MARK: The custom HTTP health check, polled for real during bakes

    @Test func customHealthCheckIsPolledDuringBakes() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let t = try await TestServer(simulator: Self.mockMode)
        let healthy = try await deploy(t, "hc1", strategy: "canary", config: [
            "canary_stages": "50,100", "stage_timeout": "1m", "health_check_url": stub.url("/ok/health"),
            "health_check_interval": "10s",
        ])
        #expect(healthy.status == .succeeded, "\(healthy.error)")
        let checks = stub.received.filter { $0.method == "GET" && $0.path == "/ok/health" }
        // Checked in both bakes (how many times depends on how far the test clock leaps while a
        // check is on the wire, so only a floor).
        #expect(checks.count >= 2, "\(checks.count) checks")

        // A check that answers 500: the canary is rolled back.
        let failing = try await deploy(t, "hc2", strategy: "canary", config: [
            "canary_stages": "50,100", "stage_timeout": "1m", "health_check_url": stub.url("/fail/health"),
        ])
        #expect(failing.status == .rolledBack, "\(failing.error)")
        #expect(failing.error.contains("500"), "\(failing.error)")

        // An expected status other than the one the endpoint answers (200) fails too.
        let wrongStatus = try await deploy(t, "hc3", strategy: "canary", config: [
            "canary_stages": "100", "stage_timeout": "1m", "health_check_url": stub.url("/ok/health"),
            "health_check_status": "204",
        ])
        #expect(wrongStatus.status == .rolledBack, "\(wrongStatus.error)")
        #expect(wrongStatus.error.contains("204") && wrongStatus.error.contains("200"), "\(wrongStatus.error)")
        try await t.stop()
    }

    @Test func execHookGetsThePayloadOnStandardInput() async throws {
        let file = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(atPath: file) }
        let payload = try Self.payload("x1")
        try await NetworkHooks().run("exec:cat > '\(file)'", payload: payload, timeout: .seconds(10))
        let written = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(try JSONDecoder().decode(HookPayload.self, from: written) == payload)
        #expect(String(decoding: written, as: UTF8.self).contains(#""deployment_id":"x1""#))
    }

    @Test func execHookExitingNonZeroFails() async throws {
        do {
            try await NetworkHooks().run("exec:exit 3", payload: try Self.payload("x2"), timeout: .seconds(10))
            Issue.record("a hook that exits 3 succeeded")
        } catch {
            #expect("\(error)" == "exited with status 3")
        }
        // What it said on standard error ends the message (its last 500 bytes, on one line,
        // without URL credentials).
        do {
            try await NetworkHooks().run("exec:echo 'smoke test: GET /health' >&2; echo 'answered 503 from https://u:pw@h/x' >&2; exit 3",
                                         payload: try Self.payload("x2"), timeout: .seconds(10))
            Issue.record("a hook that exits 3 succeeded")
        } catch {
            #expect("\(error)" == "exited with status 3: smoke test: GET /health | answered 503 from https://***@h/x")
        }
    }

    /// A URL that the request checks now refuse, stored before they did, fails the call
    /// instead of trapping in the HTTP client.
    @Test func aPortOutOfRangeFailsTheCall() async throws {
        await #expect(throws: HookError.self) { try await NetworkHooks().status(of: "http://127.0.0.1:99999/health", timeout: .seconds(5)) }
        await #expect(throws: HookError.self) {
            try await NetworkHooks().run("http://127.0.0.1:99999/hook", payload: try Self.payload("x9"), timeout: .seconds(5))
        }
    }

    @Test func execHookIsKilledAtItsTimeout() async throws {
        let start = ContinuousClock.now
        do {
            try await NetworkHooks().run("exec:sleep 900", payload: try Self.payload("x3"), timeout: .seconds(1))
            Issue.record("a hook that sleeps 900s succeeded within a 1s timeout")
        } catch {
            #expect("\(error)".contains("timed out after 1s"), "\(error)")
        }
        let elapsed = ContinuousClock.now - start
        // Killed, not waited for: far below the 900 s the command would take (a busy machine
        // may be slow to start and reap it, so no tighter bound).
        #expect(elapsed < .seconds(600), "took \(elapsed)")
    }
}

/// A loopback HTTP/1.1 server that records each request and answers 500 to paths under
/// /fail and 200 to the others; one connection at a time, on a thread of its own.
final class HookStub: Sendable {
    struct Request: Sendable {
        let method: String
        let path: String
        let contentType: String?
        let body: Data
        /// Header names in lower case.
        let headers: [String: String]

        var payload: HookPayload? { try? JSONDecoder().decode(HookPayload.self, from: body) }
    }

    let port: Int
    private let fd: Int32
    private let state = Mutex<(requests: [Request], stopped: Bool, held: [Int32])>(([], false, []))
    /// Bodies answered (200, JSON) to paths that contain a key; the first key set wins.
    private let bodies = Mutex<[(key: String, body: String)]>([])

    /// Answers `body` (200, application/json) to requests whose path (and query) contains
    /// `key`, unless a key set before matches too.
    /// `first`: ahead of the keys set before (a new answer for the same key).
    func answer(_ key: String, with body: String, first: Bool = false) {
        bodies.withLock { $0.insert((key, body), at: first ? 0 : $0.count) }
    }

    private init(fd: Int32, port: Int) {
        self.fd = fd
        self.port = port
    }

    static func start() throws -> HookStub {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestFailure("cannot listen on 127.0.0.1")
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw TestFailure("getsockname() failed")
        }
        let stub = HookStub(fd: fd, port: Int(UInt16(bigEndian: local.sin_port)))
        Thread.detachNewThread { stub.serve() }
        return stub
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    var received: [Request] { state.withLock { $0.requests } }

    /// The thread closes the socket within 50 ms.
    func stop() { state.withLock { $0.stopped = true } }

    private func serve() {
        defer {
            close(fd)
            for client in state.withLock({ $0.held }) { close(client) }
        }
        while !state.withLock({ $0.stopped }) {
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
        }
    }

    /// `/fail...` answers 500; `/flaky...` 500 to the first two requests on its path, then 200;
    /// `/hang...` never answers (the connection stays open until `stop`); anything else 200.
    private func handle(_ client: Int32) {
        var hold = false
        defer { if !hold { close(client) } }
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var head: (end: Int, length: Int)?
        while true {
            if let head, data.count >= head.end + head.length { break }
            let n = recv(client, &buffer, buffer.count, 0)
            guard n > 0 else { return }
            data.append(contentsOf: buffer[0..<n])
            if head == nil, let end = Self.headerEnd(data) {
                let lines = String(decoding: data[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
                head = (end, Int(Self.header("content-length", in: lines) ?? "") ?? 0)
            }
        }
        guard let head else { return }
        let lines = String(decoding: data[0..<head.end], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = (lines.first ?? "").split(separator: " ").map(String.init)
        let request = Request(method: requestLine.first ?? "", path: requestLine.count > 1 ? requestLine[1] : "",
                              contentType: Self.header("content-type", in: lines),
                              body: Data(data[head.end..<(head.end + head.length)]), headers: Self.headers(lines))
        let earlier = state.withLock { s in
            s.requests.append(request)
            return s.requests.filter { $0.path == request.path }.count - 1
        }
        if request.path.hasPrefix("/hang") {
            hold = true
            state.withLock { $0.held.append(client) }
            return
        }
        let fails = request.path.hasPrefix("/fail") || (request.path.hasPrefix("/flaky") && earlier < 2)
        let status = fails ? "500 Internal Server Error" : "200 OK"
        let body = bodies.withLock { b in b.first { request.path.contains($0.key) }?.body } ?? ""
        let type = body.isEmpty ? "" : "Content-Type: application/json\r\n"
        let response = "HTTP/1.1 \(status)\r\n\(type)Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = response.withCString { send(client, $0, strlen($0), Self.sendFlags) }
    }

    #if os(Linux)
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    private static let sendFlags: Int32 = 0
    #endif

    /// The index just past the blank line that ends the head.
    static func headerEnd(_ data: [UInt8]) -> Int? {
        guard data.count >= 4 else { return nil }
        for i in 0...(data.count - 4) where data[i] == 13 && data[i + 1] == 10 && data[i + 2] == 13 && data[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    static func headers(_ lines: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    static func header(_ name: String, in lines: [String]) -> String? {
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == name {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
