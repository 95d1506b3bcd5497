import Foundation
import Synchronization

/// Runs one child process to its end, for git and for `exec:` hooks: standard input from
/// bytes, standard output and error captured in private files (no pipe to drain, none to
/// break: a child that exits without reading its input costs no SIGPIPE, and a helper that
/// outlives the child cannot hold a pipe open), a time limit after which the child's whole
/// process group is stopped (SIGTERM, then SIGKILL after `grace`), and SIGKILL to the group
/// at once when the calling task is cancelled. No pid is signalled once the child was reaped.
public struct ChildProcess: Sendable {
    /// What a finished child wrote and how it ended.
    public struct Output: Sendable {
        public var stdout: Data
        /// The last `errorLimit` bytes the child wrote to standard error.
        public var stderr: Data
        /// The exit status, or the signal's number when `signalled`.
        public var status: Int32
        public var signalled: Bool
    }

    /// Why a child produced no `Output`.
    public enum Failure: Error, Sendable, Equatable {
        case couldNotStart(String)
        /// Stopped at its time limit; what it wrote to standard error so far.
        case timedOut(stderr: Data)
        /// The calling task was cancelled and the child killed.
        case cancelled(stderr: Data)
    }

    public var executable: URL
    public var arguments: [String]
    /// The child's whole environment; the server's own when nil.
    public var environment: [String: String]?
    public var directory: URL?
    public var timeout: Duration
    /// Between SIGTERM and SIGKILL at the time limit.
    public var grace: Duration = .seconds(2)
    /// Standard output beyond this many bytes is dropped; `captureOutput: false` discards it all.
    public var outputLimit = 64 << 20
    public var captureOutput = true
    public var errorLimit = 64 << 10

    public init(executable: URL, arguments: [String], environment: [String: String]? = nil, directory: URL? = nil,
                timeout: Duration) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
        self.timeout = timeout
    }

    /// `/bin/sh -c command`.
    public static func shell(_ command: String, timeout: Duration) -> ChildProcess {
        ChildProcess(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", command], timeout: timeout)
    }

    /// Runs the child with `input` on its standard input (empty when nil) and waits for its end.
    public func run(input: Data? = nil) async throws(Failure) -> Output {
        if Task.isCancelled { throw .cancelled(stderr: Data()) }
        let files: Files
        do { files = try Files(input: input ?? Data(), captureOutput: captureOutput) } catch {
            throw .couldNotStart("its files could not be made: \(error)")
        }
        defer { files.remove() }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = files.input
        process.standardOutput = files.output ?? FileHandle.nullDevice
        process.standardError = files.error

        let state = RunState()
        let ended: (status: Int32, signalled: Bool)
        do {
            ended = try await withTaskCancellationHandler {
                try await start(process, state: state)
            } onCancel: {
                if let pid = state.cancel() { Self.signal(group: pid, SIGKILL) }
            }
        } catch {
            throw .couldNotStart("\(error)")
        }
        let stderr = files.errorTail(errorLimit)
        let outcome = state.outcome
        if outcome.timedOut { throw .timedOut(stderr: stderr) }
        if outcome.cancelled { throw .cancelled(stderr: stderr) }
        return Output(stdout: files.outputHead(outputLimit), stderr: stderr, status: ended.status, signalled: ended.signalled)
    }

    /// Starts the child and resumes when it was reaped; a watchdog stops it at the time limit.
    private func start(_ process: Process, state: RunState) async throws -> (Int32, Bool) {
        let limit = timeout
        let grace = grace
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int32, Bool), any Error>) in
            process.terminationHandler = { finished in
                state.markExited()
                continuation.resume(returning: (finished.terminationStatus, finished.terminationReason == .uncaughtSignal))
            }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            let pid = process.processIdentifier
            if state.started(pid: pid) { Self.signal(group: pid, SIGKILL) }
            state.watch(Task.detached {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled, let running = state.timeOut() else { return }
                Self.signal(group: running, SIGTERM)
                // Cut short when the child exits: then only helpers it started (never a reused
                // pid: a group's id is not given out while the group has members) are left.
                try? await Task.sleep(for: grace)
                _ = Foundation.kill(-running, SIGKILL)
            })
        }
    }

    /// Signals the process group the child leads (Foundation starts each child in its own
    /// group), else the child alone.
    static func signal(group pid: Int32, _ signal: Int32) {
        guard pid > 0 else { return }
        if Foundation.kill(-pid, signal) != 0 { _ = Foundation.kill(pid, signal) }
    }

    /// The child's three files, private to this user and removed after the run: standard input
    /// (unlinked once open: the child reads it through its descriptor), output and error.
    private struct Files {
        let folder: URL
        let input: FileHandle
        let output: FileHandle?
        let error: FileHandle

        init(input data: Data, captureOutput: Bool) throws {
            let fm = FileManager.default
            let folder = fm.temporaryDirectory.appendingPathComponent("ecs-deploy-child-\(UUID().uuidString)")
            self.folder = folder
            try fm.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            func make(_ name: String, _ contents: Data = Data()) throws -> URL {
                let url = folder.appendingPathComponent(name)
                guard fm.createFile(atPath: url.path, contents: contents, attributes: [.posixPermissions: 0o600]) else {
                    throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
                }
                return url
            }
            do {
                input = try FileHandle(forReadingFrom: make("stdin", data))
                output = captureOutput ? try FileHandle(forUpdating: make("stdout")) : nil
                error = try FileHandle(forUpdating: make("stderr"))
            } catch {
                try? fm.removeItem(at: folder)
                throw error
            }
        }

        func outputHead(_ limit: Int) -> Data {
            guard let output else { return Data() }
            try? output.seek(toOffset: 0)
            return (try? output.read(upToCount: limit)) ?? Data()
        }

        func errorTail(_ limit: Int) -> Data {
            let size = (try? error.seekToEnd()) ?? 0
            try? error.seek(toOffset: size > UInt64(limit) ? size - UInt64(limit) : 0)
            return (try? error.readToEnd()) ?? Data()
        }

        func remove() {
            try? input.close()
            try? output?.close()
            try? error.close()
            try? FileManager.default.removeItem(at: folder)
        }
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

        /// Marks the run timed out; the pid to stop when the child is still running.
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
