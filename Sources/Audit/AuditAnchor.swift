import Crypto
import Foundation

/// The last line the server wrote to an audit log, kept apart from the log (in the server's
/// store), so that a log whose last lines were dropped or edited, or that was emptied or
/// replaced, is found out at the next start.
public struct AuditAnchor: Sendable, Equatable {
    /// The `seq` of the last line written.
    public var seq: Int
    /// The hex SHA-256 of that line's bytes.
    public var hash: String

    public init(seq: Int, hash: String) {
        self.seq = seq
        self.hash = hash
    }
}

/// Where anchors are kept, by the log's path.
public protocol AuditAnchorStore: Sendable {
    func anchor(for path: String) throws -> AuditAnchor?
    func setAnchor(_ anchor: AuditAnchor, for path: String) throws
}

/// The secret of a keyed chain (`audit.key_file`).
public enum AuditKey {
    /// Reads the key: the file's bytes (surrounding white space dropped), at least 32.
    public static func load(path: String) throws -> SymmetricKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditError.cannotRead(path: path, reason: "cannot read the audit key file")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.utf8.count >= 32 else {
            throw AuditError.cannotRead(path: path, reason: "the audit key must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        }
        return SymmetricKey(data: Data(text.utf8))
    }
}

extension AuditLog {
    /// The last line of the log at `path` as an anchor (nil for an empty or missing file).
    public static func lastLine(path: String) throws -> AuditAnchor? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes = try contents(path)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if bytes.isEmpty || bytes.last == UInt8(ascii: "\n") { lines.removeLast() }
        guard let last = lines.last else { return nil }
        return AuditAnchor(seq: lines.count, hash: AuditFormat.hash(last))
    }

    /// Checks the log's bytes against `anchor`: the line the server last wrote must still be there
    /// and unchanged. Answers what is wrong, or nil.
    static func anchorProblem(_ bytes: [UInt8], _ anchor: AuditAnchor) -> String? {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if bytes.isEmpty || bytes.last == UInt8(ascii: "\n") { lines.removeLast() }
        guard anchor.seq >= 1 else { return nil }
        guard lines.count >= anchor.seq else {
            return "it has \(lines.count) line(s), but the server wrote line \(anchor.seq): lines were removed, or the file was emptied or replaced"
        }
        guard AuditFormat.hash(lines[anchor.seq - 1]) == anchor.hash else {
            return "line \(anchor.seq) is not the line the server wrote there: the log was edited or replaced"
        }
        return nil
    }
}
