import Audit
import ClientCLI
import CloudModel
import DeployAPI
import Engine
import Foundation
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import Logging
import MotoHarness
import Server
import Simulator
import Store
import Synchronization
import TestSupport
import Testing

/// A real `DeploymentServer`, deploying to a simulator that runs on a manual clock. Tests talk
/// to it with the real client: over grpc-swift's in-process transport by default (no port to
/// open, nothing else on the machine can reach it), or over HTTP/2 on an ephemeral port
/// (`network`, and always with TLS configured) where the transport itself is under test. The
/// HTTP endpoint (/health, /metrics, webhooks) is always on a real ephemeral port.
final class TestServer: Sendable {
    let clock: ManualClock
    let sim: SimulatedCloud
    let server: DeploymentServer
    /// The audit log of deployments and releases, when `auditPath` was given.
    let audit: AuditLog?
    let running: Task<Void, any Error>
    /// The gRPC port; 0 when served in process.
    let port: Int
    /// The client kept open to a server served in process, and its connections.
    let inProcess: (connection: SharedConnection<InProcessTransport.Client>, client: GRPCClient<InProcessTransport.Client>,
                    connections: Task<Void, any Error>)?
    let httpPort: Int
    /// The token `withAPI` (and so `status` and `waitUntilFinished`) presents, on a server with auth.
    let apiToken: String?

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// - Parameters:
    ///   - storagePath: an SQLite file for deployment and release records and the notification
    ///     outbox (as the real server has); nil: records in memory, no outbox.
    ///   - auditPath: an audit log of deployments and releases; nil: none.
    ///   - previous: a stopped server whose simulator and clock this one takes over (a restart
    ///     against a cloud that outlived the server); `simulator` is then not used.
    ///   - seed: fills the simulator before the server starts.
    ///   - network: serve gRPC on a real port (as with TLS configured) rather than in process.
    init(network: Bool = false, configure: (inout ServerConfig) -> Void = { _ in }, simulator: SimulatorSettings = SimulatorSettings(),
         storagePath: String? = nil, auditPath: String? = nil, restarting previous: TestServer? = nil, apiToken: String? = nil,
         preflight: (any DeploymentPreflight)? = nil, store: (any DeploymentStore)? = nil,
         seed: (TestServer.Seeder) throws -> Void = { _ in }) async throws {
        self.apiToken = apiToken
        var config = ServerConfig()
        config.host = "127.0.0.1"
        config.port = 0
        config.metricsPort = 0
        config.gracefulTimeout = .seconds(5)
        config.mockMode = true
        if let storagePath { config.storagePath = storagePath }
        configure(&config)
        let clock = previous?.clock ?? ManualClock()
        let sim = previous?.sim ?? SimulatedCloud(clock: clock, settings: simulator)
        self.clock = clock
        self.sim = sim
        try seed(Seeder(sim: sim))
        var logger = Logger(label: "test")
        logger.logLevel = (ProcessInfo.processInfo.environment["TEST_LOG"] != nil ? .debug : .critical)
        let audit = try auditPath.map { try AuditLog(path: $0, clock: clock) }
        self.audit = audit
        let observers = audit.map { [$0] } ?? []
        let pair = network || config.tlsCertFile != nil ? nil : InProcessTransport()
        if let storagePath {
            let store = try SQLiteDeploymentStore(path: storagePath)
            server = try DeploymentServer(config: config, cloud: sim.cloud, clock: clock, logger: logger, preflight: preflight, store: store,
                                          releaseStore: store, observers: observers, releaseObservers: observers, audit: audit,
                                          outbox: StoreNoticeOutbox(store: store), inProcess: pair?.server)
        } else {
            server = try DeploymentServer(config: config, cloud: sim.cloud, clock: clock, logger: logger, preflight: preflight,
                                          store: store ?? InMemoryDeploymentStore(),
                                          observers: observers, releaseObservers: observers, audit: audit, inProcess: pair?.server)
        }
        let server = self.server
        running = Task { try await server.run() }
        if let pair {
            let client = GRPCClient(transport: pair.client, interceptors: SharedConnection<InProcessTransport.Client>.interceptors)
            inProcess = (SharedConnection(client: client), client, Task { try await client.runConnections() })
            port = 0
        } else {
            inProcess = nil
            port = try await server.grpcPort()
        }
        httpPort = try await server.httpPort()
    }

    /// Seeds an ECS-controller service `cluster/name` running `image` (family = name).
    @discardableResult
    func seedService(cluster: String = "prod", name: String, image: String = "nginx:1.0", desiredCount: Int = 3,
                     circuitBreaker: CircuitBreaker? = CircuitBreaker(enable: true, rollback: false)) throws -> ECSService {
        try Seeder(sim: sim).service(cluster: cluster, name: name, image: image, desiredCount: desiredCount, circuitBreaker: circuitBreaker)
    }

    struct Seeder {
        let sim: SimulatedCloud

        @discardableResult
        func service(cluster: String = "prod", name: String, image: String = "nginx:1.0", desiredCount: Int = 3,
                     circuitBreaker: CircuitBreaker? = CircuitBreaker(enable: true, rollback: false)) throws -> ECSService {
            let td = try sim.seedTaskDefinition(family: name, image: image)
            return try sim.createService(cluster: cluster, name: name, taskDefinition: td.arn!, desiredCount: desiredCount,
                                         circuitBreaker: circuitBreaker)
        }
    }

    /// Runs the client in process, connected here (in process, or with `-server` at the port).
    func client(_ args: [String], tls: Bool = false) async -> ClientResult {
        let output = CapturedOutput()
        let code = await ClientCLI.run(["-server", "127.0.0.1:\(port)"] + args, output: output, connection: inProcess?.connection)
        return ClientResult(code: code, out: output.outLines, err: output.errLines)
    }

    /// Runs `operation` while moving the clock from one sleeper's deadline to the next, so
    /// that deployments progress in simulated time without real waiting.
    func driving<T: Sendable>(maxSimulated: Duration = .seconds(4 * 3600), _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let done = Atomic<Bool>(false)
        let task = Task {
            defer { done.store(true, ordering: .relaxed) }
            return try await operation()
        }
        let start = clock.now()
        while !done.load(ordering: .relaxed) {
            if clock.now().timeIntervalSince(start) > maxSimulated.seconds {
                task.cancel()
                throw TestFailure("simulated time ran past \(maxSimulated) before the operation finished")
            }
            // Time moves once the work the last move set going is over (the clock's own signal).
            await clock.waitUntilIdle()
            if !clock.advanceToNextDeadline(maxStep: .seconds(5)) { try await Task.sleep(for: .milliseconds(1)) }
        }
        return try await task.value
    }

    /// The deployment as the API returns it.
    func status(_ id: String) async throws -> Deployment_V1_Deployment {
        try await withAPI { api in
            var request = Deployment_V1_GetStatusRequest()
            request.deploymentID = id
            return try await api.getStatus(request)
        }
    }

    /// Drives the clock until the deployment reaches a final status.
    func waitUntilFinished(_ id: String) async throws -> Deployment_V1_Deployment {
        try await driving {
            while true {
                let d = try await self.status(id)
                if [.succeeded, .failed, .rolledBack, .rejected, .interrupted].contains(d.status) { return d }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    func withAPI<T: Sendable>(_ body: @escaping @Sendable (any Deployment_V1_DeploymentService.ClientProtocol) async throws -> T) async throws -> T {
        if let inProcess { return try await inProcess.connection.withAPI(token: apiToken, body) }
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport, interceptors: apiToken.map { [BearerToken(token: $0)] } ?? []) { client in
            try await body(Deployment_V1_DeploymentService.Client(wrapping: client))
        }
    }

    /// GET (or another method) on the HTTP port.
    func http(_ path: String, method: String = "GET", headers: [String: String] = [:], body: String = "") async throws
        -> (status: Int, body: String) {
        try await HTTPGet.fetch(host: "127.0.0.1", port: httpPort, path: path, method: method, headers: headers, body: body)
    }

    /// A graceful shutdown (as SIGTERM); the audit log is closed, for a restart to open it.
    func stop() async throws {
        // Time moved only on the clock's idle signal, never on its safety time-out.
        #expect(clock.idleWaitsGivenUp == 0, "the test clock gave up waiting for work that never said it was done: \(clock.heldCredits)")
        await server.shutdown()
        try await running.value
        if let inProcess {
            inProcess.client.beginGracefulShutdown()
            try await inProcess.connections.value
        }
        audit?.close()
    }

    /// The ECS service as the simulator has it now.
    func service(cluster: String = "prod", _ name: String) -> ECSService? { sim.service(cluster: cluster, name: name) }
}

struct ClientResult: Sendable {
    let code: Int32
    let out: [String]
    let err: [String]
    var text: String { (out + err).joined(separator: "\n") }
}

final class CapturedOutput: ClientOutput {
    private let lines = Mutex<(out: [String], err: [String])>(([], []))
    func out(_ line: String) { lines.withLock { $0.out.append(line) } }
    func err(_ line: String) { lines.withLock { $0.err.append(line) } }
    var outLines: [String] { lines.withLock { $0.out } }
    var errLines: [String] { lines.withLock { $0.err } }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A minimal HTTP/1.1 GET over a socket (keeps the tests free of an HTTP client library).
enum HTTPGet {
    static func fetch(host: String, port: Int, path: String, method: String = "GET", headers: [String: String] = [:],
                      body: String = "") async throws -> (status: Int, body: String) {
        let answer = try await exchange(host: host, port: port, path: path, method: method, headers: headers, body: body)
        return (answer.status, answer.body)
    }

    /// The status, the headers (names in lower case, in order) and the body.
    static func exchange(host: String, port: Int, path: String, method: String = "GET", headers: [String: String] = [:],
                         body: String = "") async throws -> (status: Int, headers: [(String, String)], body: String) {
        try await offThePool {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket() failed") }
            defer { close(fd) }
            // A bound on a silent peer: the read fails rather than hang the test run.
            var limit = timeval(tv_sec: 60, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &addr.sin_addr)
            let connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw TestFailure("connect to \(host):\(port) failed") }
            let extra = headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)\r\n" }.joined()
            let request = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n\(extra)Content-Length: \(body.utf8.count)\r\n"
                + "Connection: close\r\n\r\n\(body)"
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 65536)
            // To the end of the connection, or of the body its Content-Length gives (a server
            // may keep the connection open: chromedriver does).
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data.append(buffer, count: n)
                if let end = data.range(of: Data("\r\n\r\n".utf8)) {
                    let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
                    if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                       let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                       data.count - end.upperBound >= length {
                        break
                    }
                }
            }
            let text = String(decoding: data, as: UTF8.self)
            guard let headerEnd = text.range(of: "\r\n\r\n") else { throw TestFailure("no HTTP response") }
            let statusLine = text[..<headerEnd.lowerBound].split(separator: "\r\n").first ?? ""
            let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
            var body = String(text[headerEnd.upperBound...])
            if text[..<headerEnd.lowerBound].lowercased().contains("transfer-encoding: chunked") { body = dechunk(body) }
            let fields = text[..<headerEnd.lowerBound].split(separator: "\r\n").dropFirst().compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            return (status, Array(fields), body)
        }
    }

    static func dechunk(_ s: String) -> String {
        var out = ""
        var rest = Substring(s)
        while let lineEnd = rest.range(of: "\r\n") {
            guard let size = Int(rest[..<lineEnd.lowerBound], radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            let utf8 = rest.utf8
            let end = utf8.index(start, offsetBy: size)
            out += String(rest[start..<end])
            rest = rest[end...].dropFirst(2)
        }
        return out
    }
}
