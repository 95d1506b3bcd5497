import Engine
import Foundation

/// A commit that changed the manifest (or, at the first poll, the head to release), with the
/// manifest's text at that commit.
public struct ManifestChange: Sendable, Equatable {
    public var commit: String
    /// `Name <email>` of the commit's author.
    public var author: String
    /// The first line of the commit message.
    public var subject: String
    /// When the commit was made (committer date).
    public var date: Date
    /// The manifest's path in the repository.
    public var path: String
    /// The manifest at `commit`; nil when the commit deleted it.
    public var text: String?

    public init(commit: String, author: String, subject: String, date: Date, path: String, text: String?) {
        self.commit = commit
        self.author = author
        self.subject = subject
        self.date = date
        self.path = path
        self.text = text
    }

    public var origin: ReleaseOrigin {
        ReleaseOrigin(commit: commit, author: author, message: subject, path: path)
    }

    /// The release this change asks for: the manifest parsed with the commit as release id.
    /// Throws `ManifestError` (with the path, line and field) for a broken or deleted manifest.
    public func release() throws(ManifestError) -> ReleaseRequest {
        guard let text else {
            throw ManifestError(file: path, line: nil, field: nil,
                                message: "was deleted in commit \(Manifest.shortID(commit)): nothing to release")
        }
        return try Manifest.parse(text, file: path, releaseID: commit, origin: origin)
    }
}

/// What one look at the branch found: its head and the manifest changes since the last
/// acknowledged commit, oldest first.
public struct GitPollResult: Sendable, Equatable {
    public var head: String
    public var changes: [ManifestChange]

    public init(head: String, changes: [ManifestChange]) {
        self.head = head
        self.changes = changes
    }
}
