import AsyncHTTPClient
import CloudModel
import Engine
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Hooks and custom health checks over HTTP (AsyncHTTPClient), and `exec:` hooks as local
/// commands.
struct NetworkHooks: HookRunner, HealthProbe {
    let client: HTTPClient
    /// `strategy.hooks.definitions`: what a hook's name stands for.
    let definitions: [String: String]

    init(client: HTTPClient = .shared, definitions: [String: String] = [:]) {
        self.client = client
        self.definitions = definitions
    }

    /// Runs the hook `hook` names (a defined name, or a target from the server's config).
    func run(_ hook: String, payload: HookPayload, timeout: Duration) async throws {
        let target: String
        if DeploymentSettings.isHookName(hook) {
            guard let defined = definitions[hook] else { throw HookError("hook '\(hook)' is not defined in strategy.hooks.definitions") }
            target = defined
        } else {
            target = hook
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(payload)
        if target.hasPrefix("exec:") {
            return try await CommandHook.run(String(target.dropFirst(5)), input: body, timeout: timeout)
        }
        var request = HTTPClientRequest(url: target)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ecs-deploy-hook")
        request.body = .bytes(ByteBuffer(bytes: body))
        let status = try await send(request, timeout: timeout)
        guard (200..<300).contains(status) else {
            throw HookError("answered HTTP \(status)")
        }
    }

    /// GET `url`'s body (at most 1 MiB), for the OIDC issuer's keys.
    func fetch(_ url: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let response = try await client.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { throw HookError("answered HTTP \(response.status.code)") }
        return Data((try await response.body.collect(upTo: 1 << 20)).readableBytesView)
    }

    func status(of url: String, timeout: Duration) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        return try await send(request, timeout: timeout)
    }

    /// Sends the request and answers the response's status; a timeout is thrown as a
    /// `HookError` that says so (AsyncHTTPClient's own errors do not name the limit).
    private func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> Int {
        // Checked here too (requests are checked when accepted): a record stored before that
        // check must not reach the HTTP client, which traps on a port out of range.
        guard let url = URLComponents(string: request.url), url.host?.isEmpty == false,
              (url.port ?? 443) > 0, (url.port ?? 443) <= 65535 else {
            throw HookError("'\(CredentialRedaction.redact(String(request.url.prefix(256))))' is not a URL that can be called")
        }
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return Int(response.status.code)
        } catch let error as HTTPClientError {
            if let message = Self.timeoutMessage(error, timeout: timeout) { throw HookError(message) }
            throw error
        }
    }

    static func timeoutMessage(_ error: HTTPClientError, timeout: Duration) -> String? {
        let overall: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .writeTimeout]
        let connecting: [HTTPClientError] = [.connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout]
        if overall.contains(error) { return "timed out after \(GoDuration.format(timeout))" }
        if connecting.contains(error) { return "timed out connecting (\(error))" }
        return nil
    }
}

/// `exec:COMMAND`: run by /bin/sh with the payload on standard input; exit 0 is success.
/// After `timeout` the command's process group (Foundation starts each child in its own) is
/// killed and the hook fails as timed out. The watchdog never signals a pid once the child
/// was reaped, since by then the pid may belong to an unrelated process.
enum CommandHook {
    static func run(_ command: String, input: Data, timeout: Duration) async throws {
        _ = ignoreBrokenPipes
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        // Standard error goes to a file (no pipe to drain, nothing lost at exit): its end is
        // shown when the command fails.
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("ecs-deploy-hook-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: errorFile.path, contents: nil, attributes: [.posixPermissions: 0o600])
        let errorHandle = try? FileHandle(forWritingTo: errorFile)
        process.standardError = errorHandle ?? FileHandle.nullDevice
        defer {
            try? errorHandle?.close()
            try? FileManager.default.removeItem(at: errorFile)
        }
        let state = RunState()
        let (status, signalled): (Int32, Bool) = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int32, Bool), any Error>) in
                process.terminationHandler = { finished in
                    state.markExited()
                    continuation.resume(returning: (finished.terminationStatus, finished.terminationReason == .uncaughtSignal))
                }
                do {
                    try process.run()
                } catch {
                    process.terminationHandler = nil
                    continuation.resume(throwing: HookError("could not start: \(error)"))
                    return
                }
                let pid = process.processIdentifier
                if state.started(pid: pid) { killGroup(pid) }
                let watchdog = Task.detached {
                    try? await Task.sleep(for: timeout)
                    guard !Task.isCancelled, let running = state.timeOut() else { return }
                    killGroup(running)
                }
                state.watch(watchdog)
                // Written off the cooperative pool: a command that does not read its input
                // must not block a thread (the write ends when the command exits or is killed).
                let writer = stdin.fileHandleForWriting
                DispatchQueue.global().async {
                    try? writer.write(contentsOf: input)
                    try? writer.close()
                }
            }
        } onCancel: {
            if let pid = state.cancel() { killGroup(pid) }
        }
        let outcome = state.outcome
        if outcome.timedOut { throw HookError("timed out after \(GoDuration.format(timeout)) and was killed") }
        if outcome.cancelled { throw CancellationError() }
        let said = Self.tail(of: errorFile)
        if signalled { throw HookError("was killed by signal \(status)\(said)") }
        guard status == 0 else { throw HookError("exited with status \(status)\(said)") }
    }

    /// The end of what the command wrote to standard error, on one line, without credentials in
    /// URLs: ": <text>", or "" when it wrote nothing.
    static func tail(of file: URL, limit: Int = 500) -> String {
        guard let data = try? Data(contentsOf: file), !data.isEmpty else { return "" }
        let text = String(decoding: data.suffix(limit), as: UTF8.self)
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: " | ")
        return text.isEmpty ? "" : ": " + CredentialRedaction.redact(text)
    }

    /// A command that exits without reading its input makes the write fail with EPIPE; without
    /// this the SIGPIPE would end the whole server.
    private static let ignoreBrokenPipes: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    /// Kills the process group `pid` leads, else the process alone.
    static func killGroup(_ pid: Int32) {
        guard pid > 0 else { return }
        if Foundation.kill(-pid, SIGKILL) != 0 { _ = Foundation.kill(pid, SIGKILL) }
    }

    /// The child's pid and why it was stopped, shared by the termination handler, the
    /// watchdog and the cancellation handler. Once `exited` is set nothing signals the pid.
    private final class RunState: Sendable {
        private struct Fields {
            var pid: Int32?
            var exited = false
            var cancelled = false
            var timedOut = false
            var watchdog: Task<Void, Never>?
        }

        private let fields = Mutex(Fields())

        /// Records the pid; true when the run was cancelled before the child started.
        func started(pid: Int32) -> Bool {
            fields.withLock { f in
                f.pid = pid
                return f.cancelled
            }
        }

        /// Keeps the watchdog to cancel at the exit (at once when the child already exited).
        func watch(_ task: Task<Void, Never>) {
            let exited: Bool = fields.withLock { f in
                if !f.exited { f.watchdog = task }
                return f.exited
            }
            if exited { task.cancel() }
        }

        /// The child was reaped: its pid must not be signalled any more.
        func markExited() {
            let watchdog: Task<Void, Never>? = fields.withLock { f in
                f.exited = true
                let task = f.watchdog
                f.watchdog = nil
                return task
            }
            watchdog?.cancel()
        }

        /// Marks the run timed out; the pid to kill when the child is still running.
        func timeOut() -> Int32? {
            fields.withLock { f in
                guard !f.exited, let pid = f.pid else { return nil }
                f.timedOut = true
                return pid
            }
        }

        /// Marks the run cancelled; the pid to kill when the child is running.
        func cancel() -> Int32? {
            fields.withLock { f in
                guard !f.exited else { return nil }
                f.cancelled = true
                return f.pid
            }
        }

        var outcome: (timedOut: Bool, cancelled: Bool) { fields.withLock { ($0.timedOut, $0.cancelled) } }
    }
}

struct HookError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
