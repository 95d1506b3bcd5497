import Foundation

/// The last commit a git source handed over, kept in its state folder so that a restarted
/// server does not release the same commits again.
struct GitSourceState: Codable, Equatable {
    var commit: String
    /// What the commit was seen for: a different repo, branch or path starts afresh.
    var repo: String
    var branch: String
    var path: String

    func matches(_ configuration: GitSourceConfiguration) -> Bool {
        repo == configuration.redactedRepo && branch == configuration.branch && path == configuration.path
    }

    static func load(from file: URL) throws(GitError) -> GitSourceState? {
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        do {
            return try JSONDecoder().decode(GitSourceState.self, from: Data(contentsOf: file))
        } catch {
            throw GitError(.state, "cannot read \(file.path): \(error)")
        }
    }

    func save(to file: URL) throws(GitError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(self).write(to: file, options: .atomic)
        } catch {
            throw GitError(.state, "cannot write \(file.path): \(error)")
        }
    }
}
