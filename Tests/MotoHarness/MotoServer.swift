import AWSAuth
import CloudModel
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much of `scripts/moto/moto_patches.py` moto runs with.
public enum MotoPatches: String, Sendable, CaseIterable {
    /// Every patch: moto answers as ECS does where a correct client depends on it.
    case full
    /// Only what moto does not model (rollouts, task scheduling, target registration,
    /// SimulatePrincipalPolicy, error codes, paging); the fields it leaves out of its answers
    /// stay out.
    case dynamics
    /// moto 5.2.1 as it is.
    case none
}

/// A moto server for one test, started with `scripts/moto/moto_launcher.py` on a free
/// loopback port and stopped by its process id.
///
/// Every request the AWS client sends it is checked against botocore's service models
/// (`scripts/moto/request_check.py`); `stop()` records each request AWS would refuse as an
/// issue of the running test, so every test that talks to moto checks the requests it makes.
public final class MotoServer: @unchecked Sendable {
    /// Why the integration tests are skipped, or nil when moto can run here.
    public static let unavailableReason: String? = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import moto.server, boto3"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do {
            try probe.run()
            probe.waitUntilExit()
        } catch {
            return "python3 cannot be run (\(error)); the moto integration tests need python3 with moto[server]"
        }
        return probe.terminationStatus == 0 ? nil
            : "moto is not installed (python3 -c 'import moto.server' failed): pip install 'moto[server]'"
    }()

    public static var isAvailable: Bool { unavailableReason == nil }

    static var launcher: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/moto/moto_launcher.py")
    }

    public let process: Process
    public let endpoint: String
    public let fixtures: [String: JSONValue]
    public let patches: MotoPatches
    private let directory: URL

    private init(process: Process, endpoint: String, fixtures: [String: JSONValue], patches: MotoPatches, directory: URL) {
        self.patches = patches
        self.process = process
        self.endpoint = endpoint
        self.fixtures = fixtures
        self.directory = directory
    }

    deinit { terminate() }

    /// Starts moto with the seeded estate; `auth` turns signature checks on. `patches` defaults
    /// to `MOTO_PATCHES` from the environment (full, dynamics or none), else full.
    public static func start(auth: Bool = false, patches: MotoPatches? = nil) async throws -> MotoServer {
        let patches = patches ?? ProcessInfo.processInfo.environment["MOTO_PATCHES"].flatMap(MotoPatches.init(rawValue:)) ?? .full
        await launches.acquire()
        defer { Task { await launches.release() } }
        var lastError: (any Error)?
        for _ in 0..<3 {
            do { return try await launch(port: try freePort(), auth: auth, patches: patches) } catch { lastError = error }
        }
        throw lastError!
    }

    private static func launch(port: Int, auth: Bool, patches: MotoPatches) async throws -> MotoServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("moto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fixturesFile = directory.appendingPathComponent("fixtures.json")
        let logFile = directory.appendingPathComponent("moto.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", launcher.path, "--port", "\(port)", "--fixtures", fixturesFile.path,
                             "--parent-pid", "\(ProcessInfo.processInfo.processIdentifier)", "--patches", patches.rawValue,
                             "--request-problems", directory.appendingPathComponent(problemsFile).path]
            + (auth ? ["--auth"] : [])
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        try process.run()

        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: fixturesFile.path),
               case .object(let fixtures) = try JSONValue.parse(String(decoding: data, as: UTF8.self)) {
                return MotoServer(process: process, endpoint: "http://127.0.0.1:\(port)", fixtures: fixtures,
                                  patches: patches, directory: directory)
            }
            if !process.isRunning {
                let output = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
                throw MotoError(message: "moto_launcher.py exited with \(process.terminationStatus): \(output.suffix(2000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(process.processIdentifier, SIGKILL)
        throw MotoError(message: "moto did not become ready on port \(port) within 90 s")
    }

    /// moto's start (Python, its imports, the seeded estate) keeps a core busy for a second or
    /// two: two at a time, so that the rest of the test process keeps its threads.
    static let launches = LaunchSlots(2)

    static let problemsFile = "request-problems.jsonl"

    /// The client's requests so far that AWS's models refuse, one line each
    /// (`ecs:CreateTaskSet: clientToken: 38 characters; ECS accepts at most 36`).
    public func requestProblems() -> [String] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(Self.problemsFile).path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map { line in
            guard case .object(let fields)? = try? JSONValue.parse(String(line)) else { return String(line) }
            return "\(fields["operation"]?.stringValue ?? "?"): \(fields["problem"]?.stringValue ?? String(line))"
        }
    }

    /// The problems found so far, which the test expected: `stop()` will not report them.
    public func takeRequestProblems() -> [String] {
        let problems = requestProblems()
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(Self.problemsFile))
        return problems
    }

    /// Stops the server by its process id (SIGKILL), after recording as an issue of the
    /// running test every request the client sent that AWS would refuse.
    public func stop(sourceLocation: SourceLocation = #_sourceLocation) {
        let problems = requestProblems()
        if !problems.isEmpty, stopped.withLock({ !$0 }) {
            let listed = problems.prefix(20).joined(separator: "\n")
            Issue.record("moto received \(problems.count) request(s) that botocore's models refuse:\n\(listed)",
                         sourceLocation: sourceLocation)
        }
        terminate()
    }

    private let stopped = Mutex(false)

    private func terminate() {
        stopped.withLock { $0 = true }
        let pid = process.processIdentifier
        // Killed outright: its state dies with the test, and a graceful stop would keep the
        // calling thread (often a cooperative one, from a `defer`) waiting.
        if process.isRunning { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// A port nobody listens on right now (the kernel's pick for port 0).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MotoError(message: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw MotoError(message: "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: Fixtures

    public func string(_ key: String) -> String { fixtures[key]?.stringValue ?? "" }

    public func strings(_ key: String) -> [String] { fixtures[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }

    /// AWSAuth's environment pointing every service at this server.
    public func environment() throws -> AWSEnvironment {
        try AWSEnvironment(environment: ["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint])
    }
}

public struct MotoError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Fixed credentials for tests.
public struct StaticCredentials: CredentialProvider {
    public var value: AWSCredentials
    public init(accessKeyID: String = "AKIDMOTOTEST", secret: String = "moto-test-secret") {
        value = AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret, source: "test")
    }
    public func credentials() async throws -> AWSCredentials { value }
}

/// A counting semaphore for async code.
actor LaunchSlots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
