import Foundation
import ChildProcess

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
        let child = ChildProcess(executable: executable, arguments: args, environment: environment, directory: directory,
                                 timeout: timeout)
        let output: ChildProcess.Output
        do {
            output = try await child.run()
        } catch {
            switch error {
            case .couldNotStart(let why): throw GitError(.commandFailed, "\(shown) could not start: \(why)", command: shown)
            case .timedOut(let stderr):
                throw GitError(.timedOut, "\(shown) did not finish in \(timeout) and was stopped", command: shown,
                               stderr: String(decoding: stderr, as: UTF8.self))
            case .cancelled(let stderr):
                throw GitError(.cancelled, "\(shown) was cancelled", command: shown, stderr: String(decoding: stderr, as: UTF8.self))
            }
        }
        let errText = String(decoding: output.stderr, as: UTF8.self)
        // Killed by a signal: 128 + its number, as a shell says.
        let exitCode = output.signalled ? 128 + output.status : output.status
        if exitCode != 0 && !allowFailure {
            throw GitError(.commandFailed, "\(shown) failed with exit code \(exitCode)", command: shown, exitCode: exitCode,
                           stderr: errText)
        }
        return GitOutput(stdout: output.stdout, stderr: errText, exitCode: exitCode)
    }
}
