import Foundation
import MotoHarness
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The built `grpc-server` binary, run as a child process (as a user runs it), with its
/// standard error collected. The gRPC and HTTP ports are read from its start-up log line, so a
/// config with port 0 works.
final class ServerProcess: Sendable {
    let process: Process
    let grpcPort: Int
    let httpPort: Int
    private let log: OutputLog

    /// The folder that holds the built programs (next to the test bundle).
    static var binaries: URL {
        let candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
                          URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                              .deletingLastPathComponent().appendingPathComponent(".build/debug")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("grpc-server").path) }
            ?? candidates[0]
    }

    private init(process: Process, grpcPort: Int, httpPort: Int, log: OutputLog) {
        self.process = process
        self.grpcPort = grpcPort
        self.httpPort = httpPort
        self.log = log
    }

    deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

    /// Everything the server wrote to standard error so far.
    var output: String { log.text }

    /// Starts `grpc-server` in `directory` and waits until it says where it listens.
    static func start(arguments: [String] = [], environment: [String: String], in directory: URL,
                      within limit: Duration = .seconds(60)) async throws -> ServerProcess {
        let (process, log, ports) = try await launch(arguments: arguments, environment: environment, in: directory, within: limit,
                                                     ready: listeningPorts)
        return ServerProcess(process: process, grpcPort: ports.grpc, httpPort: ports.http, log: log)
    }

    /// `grpc-server simulate -port 0` in `directory`; answers it with its port (its gRPC and
    /// HTTP ports are that one).
    static func simulate(_ more: [String] = [], environment: [String: String] = [:], in directory: URL) async throws -> ServerProcess {
        let (process, log, port) = try await launch(arguments: ["simulate", "-port", "0"] + more, environment: environment, in: directory,
                                                    within: .seconds(60)) { text -> Int? in
            guard let range = text.range(of: "simulated AWS endpoint listening on http://") else { return nil }
            let rest = text[range.upperBound...]
            guard let colon = rest.firstIndex(of: ":") else { return nil }
            return Int(rest[rest.index(after: colon)...].prefix { $0.isNumber })
        }
        return ServerProcess(process: process, grpcPort: port, httpPort: port, log: log)
    }

    /// Starts `grpc-server` with `arguments` and waits until `ready` finds what it waits for in
    /// its log (or it exits, or `limit` passes).
    private static func launch<T>(arguments: [String], environment: [String: String], in directory: URL, within limit: Duration,
                                  ready: (String) -> T?) async throws -> (Process, OutputLog, T) {
        let binary = binaries.appendingPathComponent("grpc-server")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestFailure("\(binary.path) is not built (swift build builds it)")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { a, _ in a }
        process.currentDirectoryURL = directory
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        let log = OutputLog()
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { log.append(String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let found = ready(log.text) { return (process, log, found) }
            if !process.isRunning {
                process.waitUntilExit()
                throw StartFailure(status: process.terminationStatus, output: log.text)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        throw TestFailure("grpc-server did not say where it listens within \(limit): \(log.text)")
    }

    /// The ports in "gRPC API listening on H:P (...); HTTP /health and /metrics on H:P".
    static func listeningPorts(_ text: String) -> (grpc: Int, http: Int)? {
        let pattern = #"gRPC API listening on [0-9.:a-z]*:([0-9]+) .*HTTP /health and /metrics on [0-9.:a-z]*:([0-9]+)"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let grpc = Range(match.range(at: 1), in: text), let http = Range(match.range(at: 2), in: text) else { return nil }
        return (Int(text[grpc])!, Int(text[http])!)
    }

    struct StartFailure: Error, CustomStringConvertible {
        let status: Int32
        let output: String
        var description: String { "grpc-server exited with \(status): \(output)" }
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end; nil when it is still running after `limit`.
    func exitStatus(within limit: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Runs the built `grpc-client` with `arguments` and returns its exit code and output.
    static func client(_ arguments: [String], environment: [String: String]? = nil) async throws -> ClientResult {
        try await run(arguments, program: "grpc-client", environment: environment)
    }

    /// Runs a built program to its end (by default `grpc-server`, e.g. `audit verify FILE`).
    /// `environment`: the child's whole environment (nil: this process's).
    static func run(_ arguments: [String], program: String = "grpc-server", environment: [String: String]? = nil) async throws -> ClientResult {
        try await execute(binaries.appendingPathComponent(program), arguments, environment: environment)
    }

    /// Runs a program found on PATH (`arguments[0]`, e.g. `aws`) to its end.
    static func runOnPath(_ arguments: [String], environment: [String: String]) async throws -> ClientResult {
        try await execute(URL(fileURLWithPath: "/usr/bin/env"), arguments, environment: environment)
    }

    private static func execute(_ executable: URL, _ arguments: [String], environment: [String: String]?) async throws -> ClientResult {
        try await offThePool {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            if let environment { process.environment = environment }
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            func lines(_ d: Data) -> [String] { String(decoding: d, as: UTF8.self).split(separator: "\n").map(String.init) }
            return ClientResult(code: process.terminationStatus, out: lines(outData), err: lines(errData))
        }
    }

    /// A fresh folder to run a server in.
    static func workingDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Text a child process writes, collected as it arrives.
final class OutputLog: Sendable {
    private let buffer = Mutex("")
    var text: String { buffer.withLock { $0 } }
    func append(_ more: String) { buffer.withLock { $0 += more } }
}
