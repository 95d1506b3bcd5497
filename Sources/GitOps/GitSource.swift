import Foundation
import Logging

/// Watches one manifest on one branch of a git repository through the git CLI.
///
/// The source keeps a bare mirror of the branch and the last commit it handed over in its
/// state folder. `pending()` fetches and lists the commits since that commit (first parent
/// history, oldest first) that changed the manifest, each with the manifest's text there;
/// `acknowledge(_:)` moves the remembered commit on. `poll()` does both at once.
public actor GitSource {
    public nonisolated let configuration: GitSourceConfiguration
    private let runner: GitRunner
    private let logger: Logger
    private var prepared = false
    private var lastSeen: GitSourceState?
    private var stateLoaded = false

    /// Validates the configuration and finds git; touches nothing on disk yet.
    public init(_ configuration: GitSourceConfiguration, logger: Logger = Logger(label: "gitops.git")) throws(GitError) {
        self.configuration = try configuration.validated()
        self.runner = try GitRunner(executable: configuration.gitExecutable, timeout: configuration.commandTimeout)
        var logger = logger
        logger[metadataKey: "repo"] = "\(self.configuration.redactedRepo)"
        logger[metadataKey: "branch"] = "\(self.configuration.branch)"
        self.logger = logger
    }

    var mirror: URL { configuration.stateDirectory.appendingPathComponent("mirror.git") }
    var stateFile: URL { configuration.stateDirectory.appendingPathComponent("last-seen.json") }
    var trackingRef: String { "refs/remotes/origin/\(configuration.branch)" }

    /// The last commit handed over (acknowledged), if any.
    public func lastSeenCommit() throws(GitError) -> String? {
        try loadState()?.commit
    }

    /// Fetches, lists the changes since the last seen commit and remembers the head.
    /// Changes are handed over at most once: use `pending()` and `acknowledge(_:)` to hand
    /// each over only after it was taken care of.
    public func poll() async throws(GitError) -> [ManifestChange] {
        let result = try await pending()
        try acknowledge(result.head)
        return result.changes
    }

    /// Fetches and lists the manifest changes since the last acknowledged commit, oldest first,
    /// without moving the remembered commit. With no commit remembered yet (first start, or a
    /// different repo, branch or path), the head is the one change when
    /// `releaseHeadOnFirstPoll` is set (and the manifest exists there), else there is none.
    public func pending() async throws(GitError) -> GitPollResult {
        let head = try await fetch()
        var last = try loadState()?.commit
        if let known = last, !(try await commitExists(known)) {
            logger.warning("last seen commit \(known) is not in the repository any more; starting afresh")
            last = nil
        }
        guard let last else {
            let changes = configuration.releaseHeadOnFirstPoll ? try await change(at: head).map { [$0] } ?? [] : []
            return GitPollResult(head: head, changes: changes)
        }
        guard last != head else { return GitPollResult(head: head, changes: []) }
        var changes = try await changes(from: last, to: head)
        if changes.isEmpty, !(try await isAncestor(last, of: head)),
           try await manifestBlob(at: last) != manifestBlob(at: head) {
            // The branch was reset to other history whose commits are all known (e.g. back to
            // an older commit): the manifest there differs from the one last handed over.
            logger.warning("branch was rewritten: \(last) is not an ancestor of \(head); releasing the head's manifest")
            changes = try await change(at: head).map { [$0] } ?? []
        }
        return GitPollResult(head: head, changes: changes)
    }

    /// Remembers `commit` as handed over, in memory and in the state folder.
    public func acknowledge(_ commit: String) throws(GitError) {
        guard Self.isCommitID(commit) else { throw GitError(.invalidConfiguration, "'\(commit)' is not a commit id") }
        if lastSeen?.commit == commit { return }
        let state = GitSourceState(commit: commit, repo: configuration.redactedRepo, branch: configuration.branch,
                                   path: configuration.path)
        try state.save(to: stateFile)
        lastSeen = state
        stateLoaded = true
    }

    /// Fetches the branch and answers its head commit.
    public func fetch() async throws(GitError) -> String {
        try await prepare()
        let refspec = "+refs/heads/\(configuration.branch):\(trackingRef)"
        do {
            _ = try await git(["fetch", "--quiet", "--no-tags", "--prune", "origin", refspec])
        } catch let error where error.kind == .commandFailed {
            throw GitError(.commandFailed, "cannot fetch branch '\(configuration.branch)' from \(configuration.redactedRepo)",
                           command: error.command, exitCode: error.exitCode, stderr: error.stderr)
        }
        return try await git(["rev-parse", "--verify", "--quiet", "\(trackingRef)^{commit}"]).trimmed
    }

    /// The manifest change that `commit` (a sha or a revision known to the mirror) stands for,
    /// with the manifest's text there; nil when the manifest does not exist at that commit.
    /// For releasing a chosen commit again; does not fetch.
    public func change(at revision: String) async throws(GitError) -> ManifestChange? {
        try await prepare()
        guard !revision.hasPrefix("-"), !revision.isEmpty else {
            throw GitError(.invalidConfiguration, "'\(revision)' is not a revision")
        }
        let log = try await git(["log", "-1", "--no-color", Self.logFormat, revision, "--"])
        guard let commit = Self.parseLog(log.text).first else { return nil }
        guard let blob = try await manifestBlob(at: commit.sha) else { return nil }
        return try await commit.change(path: configuration.path, text: text(ofBlob: blob))
    }

    // MARK: - Internals

    /// Creates the state folder and the bare mirror, and points the mirror at the repo.
    private func prepare() async throws(GitError) {
        guard !prepared else { return }
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: configuration.stateDirectory, withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o700])
            if fm.fileExists(atPath: mirror.path) && !fm.fileExists(atPath: mirror.appendingPathComponent("HEAD").path) {
                try fm.removeItem(at: mirror)
            }
        } catch {
            throw GitError(.state, "cannot prepare \(configuration.stateDirectory.path): \(error)")
        }
        if !fm.fileExists(atPath: mirror.path) {
            _ = try await runner.run(["init", "--quiet", "--bare", mirror.path], in: configuration.stateDirectory)
        }
        _ = try await git(["config", "remote.origin.url", configuration.repo])
        prepared = true
    }

    private func loadState() throws(GitError) -> GitSourceState? {
        if !stateLoaded {
            let stored = try GitSourceState.load(from: stateFile)
            if let stored, !stored.matches(configuration) {
                logger.info("state in \(stateFile.path) is for \(stored.repo) \(stored.branch):\(stored.path); starting afresh")
                lastSeen = nil
            } else {
                lastSeen = stored
            }
            stateLoaded = true
        }
        return lastSeen
    }

    /// Runs git against the mirror.
    private func git(_ args: [String], allowFailure: Bool = false) async throws(GitError) -> GitOutput {
        try await runner.run(["--git-dir=\(mirror.path)", "--literal-pathspecs", "-c", "log.showSignature=false"] + args,
                             in: configuration.stateDirectory, allowFailure: allowFailure)
    }

    private func commitExists(_ sha: String) async throws(GitError) -> Bool {
        try await git(["cat-file", "-e", "\(sha)^{commit}"], allowFailure: true).exitCode == 0
    }

    private func isAncestor(_ ancestor: String, of commit: String) async throws(GitError) -> Bool {
        let result = try await git(["merge-base", "--is-ancestor", ancestor, commit], allowFailure: true)
        guard result.exitCode <= 1 else {
            throw GitError(.commandFailed, "git merge-base --is-ancestor failed", exitCode: result.exitCode, stderr: result.stderr)
        }
        return result.exitCode == 0
    }

    /// The manifest's blob id at `commit`; nil when there is no such file there.
    private func manifestBlob(at commit: String) async throws(GitError) -> String? {
        let listing = try await git(["ls-tree", "-z", commit, "--", configuration.path])
        for record in listing.text.split(separator: "\0") {
            let parts = record.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2, String(parts[1]) == configuration.path else { continue }
            let fields = parts[0].split(separator: " ")
            return fields.count == 3 && fields[1] == "blob" ? String(fields[2]) : nil
        }
        return nil
    }

    private func text(ofBlob blob: String) async throws(GitError) -> String {
        try await git(["cat-file", "blob", blob]).text
    }

    /// The commits in `from..to` (first parents only) that touched the manifest, oldest first.
    private func changes(from: String, to: String) async throws(GitError) -> [ManifestChange] {
        let log = try await git(["log", "--first-parent", "--reverse", "--no-color", Self.logFormat, "\(from)..\(to)", "--",
                                 configuration.path])
        var out: [ManifestChange] = []
        for commit in Self.parseLog(log.text) {
            var manifest: String?
            if let blob = try await manifestBlob(at: commit.sha) { manifest = try await text(ofBlob: blob) }
            out.append(commit.change(path: configuration.path, text: manifest))
        }
        return out
    }

    static let logFormat = "--format=%H%x1f%an <%ae>%x1f%ct%x1f%s%x1e"

    struct LogEntry {
        var sha: String
        var author: String
        var date: Date
        var subject: String

        func change(path: String, text: String?) -> ManifestChange {
            ManifestChange(commit: sha, author: author, subject: subject, date: date, path: path, text: text)
        }
    }

    static func parseLog(_ text: String) -> [LogEntry] {
        text.split(separator: "\u{1e}").compactMap { record in
            let fields = record.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\u{1f}", omittingEmptySubsequences: false)
            guard fields.count == 4, isCommitID(String(fields[0])) else { return nil }
            let seconds = TimeInterval(fields[2]) ?? 0
            return LogEntry(sha: String(fields[0]), author: String(fields[1]), date: Date(timeIntervalSince1970: seconds),
                            subject: String(fields[3]))
        }
    }

    /// A full SHA-1 or SHA-256 object id.
    static func isCommitID(_ text: String) -> Bool {
        (text.count == 40 || text.count == 64) && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
