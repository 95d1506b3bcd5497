import CloudModel
import Foundation

/// Where the manifest lives and how the git source works.
public struct GitSourceConfiguration: Sendable, Equatable {
    /// A local path or any URL git can fetch (`https://`, `ssh://`, `git@host:org/repo`, `file://`).
    public var repo: String
    public var branch: String
    /// The manifest's path inside the repository.
    public var path: String
    /// A folder the source owns: its mirror clone and the last seen commit live there.
    public var stateDirectory: URL
    /// At the very first poll (no commit seen before), report the head's manifest as a change
    /// ("release what is there at first start"); false: only remember the head.
    public var releaseHeadOnFirstPoll: Bool
    /// How long one git command may run before it is killed.
    public var commandTimeout: Duration
    /// The git executable; nil: `git` from PATH.
    public var gitExecutable: String?

    public init(repo: String, branch: String = "main", path: String = "deployment.yaml", stateDirectory: URL,
                releaseHeadOnFirstPoll: Bool = true, commandTimeout: Duration = .seconds(120), gitExecutable: String? = nil) {
        self.repo = repo
        self.branch = branch
        self.path = path
        self.stateDirectory = stateDirectory
        self.releaseHeadOnFirstPoll = releaseHeadOnFirstPoll
        self.commandTimeout = commandTimeout
        self.gitExecutable = gitExecutable
    }

    /// The repository without credentials, for messages and logs.
    public var redactedRepo: String { CredentialRedaction.redact(repo) }

    /// Checks the fields and normalizes them: a relative local repository path becomes
    /// absolute, the manifest path loses a leading `./` or `/`.
    public func validated() throws(GitError) -> GitSourceConfiguration {
        var copy = self
        copy.repo = repo.trimmingCharacters(in: .whitespaces)
        guard !copy.repo.isEmpty else { throw GitError(.invalidConfiguration, "repo: is required") }
        guard !copy.repo.hasPrefix("-") else { throw GitError(.invalidConfiguration, "repo: '\(redactedRepo)' is not a repository") }
        if Self.isLocalPath(copy.repo) {
            copy.repo = URL(fileURLWithPath: copy.repo).standardizedFileURL.path
        }
        copy.branch = branch.trimmingCharacters(in: .whitespaces)
        guard Self.isValidBranch(copy.branch) else {
            throw GitError(.invalidConfiguration, "branch: '\(branch)' is not a valid branch name")
        }
        var path = self.path.trimmingCharacters(in: .whitespaces)
        while path.hasPrefix("./") { path.removeFirst(2) }
        while path.hasPrefix("/") { path.removeFirst() }
        guard !path.isEmpty, !path.hasSuffix("/"), !path.split(separator: "/").contains("..") else {
            throw GitError(.invalidConfiguration, "path: '\(self.path)' is not a file path inside the repository")
        }
        copy.path = path
        guard commandTimeout > .zero else { throw GitError(.invalidConfiguration, "commandTimeout: must be positive") }
        return copy
    }

    /// Git's rule: a URL has `://`; `host:path` is scp-like unless a `/` comes before the `:`.
    static func isLocalPath(_ repo: String) -> Bool {
        if repo.contains("://") { return false }
        guard let colon = repo.firstIndex(of: ":") else { return true }
        return repo[..<colon].contains("/")
    }

    /// A conservative subset of git's ref-name rules.
    static func isValidBranch(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("-"), !name.hasPrefix("/"), !name.hasSuffix("/"), !name.hasSuffix("."),
              !name.hasSuffix(".lock"), !name.contains(".."), !name.contains("//"), !name.contains("@{"), name != "@" else {
            return false
        }
        let forbidden = Set(" ~^:?*[\\")
        return !name.contains { forbidden.contains($0) || $0.asciiValue.map { $0 < 32 || $0 == 127 } == true }
            && !name.split(separator: "/").contains { $0.hasPrefix(".") }
    }
}
