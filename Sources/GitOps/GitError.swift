import CloudModel
import Foundation

/// A failure of the git source: git missing, a git command failing or timing out, a bad
/// configuration, or the state folder. Messages never carry credentials from a repository URL.
public struct GitError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The git executable is not there.
        case gitMissing
        /// A git command exited with an error (see `stderr`).
        case commandFailed
        /// A git command ran longer than the configured timeout and was killed.
        case timedOut
        /// The task running the command was cancelled; the command was killed.
        case cancelled
        /// The source's configuration cannot work (empty repo, bad branch name, ...).
        case invalidConfiguration
        /// The state folder cannot be written or read.
        case state
    }

    public var kind: Kind
    public var message: String
    /// The git command, without credentials (`git fetch origin ...`), when one ran.
    public var command: String?
    public var exitCode: Int32?
    /// What git wrote to standard error, trimmed, credentials removed.
    public var stderr: String

    public init(_ kind: Kind, _ message: String, command: String? = nil, exitCode: Int32? = nil, stderr: String = "") {
        self.kind = kind
        self.message = CredentialRedaction.redact(message)
        self.command = command.map(CredentialRedaction.redact)
        self.exitCode = exitCode
        self.stderr = CredentialRedaction.redact(String(stderr.trimmingCharacters(in: .whitespacesAndNewlines).prefix(4000)))
    }

    public var description: String {
        stderr.isEmpty ? message : "\(message): \(stderr)"
    }
}
