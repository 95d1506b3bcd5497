import Foundation
import Synchronization

/// What a finished git command wrote.
struct GitOutput: Sendable {
    var stdout: Data
    var stderr: String
    var exitCode: Int32

    var text: String { String(decoding: stdout, as: UTF8.self) }
    var trimmed: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
}

/// Runs the git CLI: no terminal prompts, C locale, a timeout after which the command's whole
/// process group is killed, and killed as well when the calling task is cancelled.
struct GitRunner: Sendable {
    let executable: URL
    let timeout: Duration
    let environment: [String: String]

    /// Variables that would point git at another repository than the one asked for.
    static let strippedVariables: Set<String> = [
        "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_PREFIX",
    ]

    init(executable: String?, timeout: Duration, base: [String: String] = ProcessInfo.processInfo.environment) throws(GitError) {
        guard let found = Self.locate(executable, path: base["PATH"]) else {
            let name = executable ?? "git"
            throw GitError(.gitMissing, "git executable '\(name)' not found" + (executable == nil ? " in PATH" : ""))
        }
        self.executable = found
        self.timeout = timeout
        var env = base.filter { !Self.strippedVariables.contains($0.key) }
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GCM_INTERACTIVE"] = "never"
        env["LC_ALL"] = "C"
        if env["GIT_SSH_COMMAND"] == nil && env["GIT_SSH"] == nil { env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes" }
        self.environment = env
    }

    static func locate(_ executable: String?, path: String?) -> URL? {
        let fm = FileManager.default
        if let executable, executable.contains("/") {
            return fm.isExecutableFile(atPath: executable) ? URL(fileURLWithPath: executable) : nil
        }
        let name = executable ?? "git"
        let dirs = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        return dirs.map { URL(fileURLWithPath: $0).appendingPathComponent(name) }.first { fm.isExecutableFile(atPath: $0.path) }
    }

    /// Runs `git args` in `directory`. Throws on a non-zero exit unless `allowFailure`.
    func run(_ args: [String], in directory: URL?, allowFailure: Bool = false) async throws(GitError) -> GitOutput {
        let shown = (["git"] + args).joined(separator: " ")
        if Task.isCancelled { throw GitError(.cancelled, "\(shown) was cancelled", command: shown) }
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        process.environment = environment
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice

        let state = RunState()
        let exitCode: Int32
        let stdout: Data
        let stderr: Data
        do {
            (exitCode, stdout, stderr) = try await withTaskCancellationHandler {
                try await launch(process, out: out, err: err, state: state)
            } onCancel: {
                if let pid = state.cancel() { Self.kill(group: pid) }
            }
        } catch {
            throw GitError(.commandFailed, "\(shown) could not start: \(error)", command: shown)
        }
        let (timedOut, cancelled) = state.outcome
        let errText = String(decoding: stderr, as: UTF8.self)
        if timedOut {
            throw GitError(.timedOut, "\(shown) did not finish in \(timeout) and was stopped", command: shown, stderr: errText)
        }
        if cancelled { throw GitError(.cancelled, "\(shown) was cancelled", command: shown, stderr: errText) }
        let output = GitOutput(stdout: stdout, stderr: errText, exitCode: exitCode)
        if exitCode != 0 && !allowFailure {
            throw GitError(.commandFailed, "\(shown) failed with exit code \(exitCode)", command: shown, exitCode: exitCode,
                           stderr: errText)
        }
        return output
    }

    /// The running child's pid and why it was stopped, shared with the cancellation handler
    /// and the watchdog.
    private final class RunState: Sendable {
        private struct Fields {
            var pid: Int32?
            var exited = false
            var cancelled = false
            var timedOut = false
        }

        private let fields = Mutex(Fields())

        /// Marks the run cancelled; the pid to kill when the child is running.
        func cancel() -> Int32? {
            fields.withLock { f in
                guard !f.exited else { return nil }
                f.cancelled = true
                return f.pid
            }
        }

        /// Marks the run timed out; the pid to kill when the child is still running.
        func timeOut() -> Int32? {
            fields.withLock { f in
                guard !f.exited else { return nil }
                f.timedOut = true
                return f.pid
            }
        }

        /// The child was reaped: its pid must not be signalled any more.
        func markExited() { fields.withLock { $0.exited = true } }

        /// Records the child's pid; true when the run was cancelled before it started.
        func started(pid: Int32) -> Bool {
            fields.withLock { f in
                f.pid = pid
                return f.cancelled
            }
        }

        var outcome: (timedOut: Bool, cancelled: Bool) { fields.withLock { ($0.timedOut, $0.cancelled) } }
    }

    /// Starts the process, reads both pipes to their end on other threads (so a large output
    /// cannot fill a pipe and stall git), and waits for the exit, killing it at the timeout.
    private func launch(_ process: Process, out: Pipe, err: Pipe, state: RunState) async throws
        -> (Int32, Data, Data) {
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { finished in
            exited.continuation.yield(finished.terminationStatus)
            exited.continuation.finish()
        }
        try process.run()
        let pid = process.processIdentifier
        if state.started(pid: pid) { Self.kill(group: pid) }
        // Foundation closes the parent's copies of the pipes' write ends in `run()`, so the
        // reads below end when git (and whatever it started) exits.
        let limit = timeout
        let watchdog = Task {
            try await Task.sleep(for: limit)
            guard let running = state.timeOut() else { return }
            Self.kill(group: running, signal: SIGTERM)
            // Helpers git started (ssh, remote helpers) may outlive it and hold the pipes open.
            try await Task.sleep(for: .seconds(2))
            _ = Foundation.kill(-running, SIGKILL)
        }
        async let stdout = Self.readAll(out.fileHandleForReading)
        async let stderr = Self.readAll(err.fileHandleForReading)
        var status: Int32 = -1
        for await code in exited.stream { status = code }
        state.markExited()
        if !state.outcome.timedOut { watchdog.cancel() }
        return (status, await stdout, await stderr)
    }

    private static func readAll(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = (try? handle.readToEnd()) ?? Data()
                try? handle.close()
                continuation.resume(returning: data)
            }
        }
    }

    /// Signals the process group the child leads (Foundation starts each child in its own
    /// group), so helpers git started (ssh, remote helpers) go too.
    static func kill(group pid: Int32, signal: Int32 = SIGKILL) {
        guard pid > 0 else { return }
        if Foundation.kill(-pid, signal) != 0 { _ = Foundation.kill(pid, signal) }
    }
}
