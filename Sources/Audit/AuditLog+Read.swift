import Foundation

extension AuditLog {
    /// The chain of this log checked now, with its own key (the dashboard's audit page).
    public func verifyNow() throws -> AuditVerification { try Self.verify(path: path, key: key) }

    /// The newest entries, newest first, at most `limit`, read from the last `tailBytes` of the
    /// file (a line cut by the window, or one that does not parse, is left out).
    public func recentEntries(limit: Int, tailBytes: Int = 4 << 20) throws -> [AuditEntry] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw AuditError.cannotRead(path: path, reason: "cannot be opened") }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        let start = size > UInt64(tailBytes) ? size - UInt64(tailBytes) : 0
        try handle.seek(toOffset: start)
        let data = try handle.readToEnd() ?? Data()
        var lines = data.split(separator: UInt8(ascii: "\n"))
        if start > 0, !lines.isEmpty { lines.removeFirst() }
        let decoder = JSONDecoder()
        var out: [AuditEntry] = []
        for line in lines.reversed() where out.count < limit {
            if let entry = try? decoder.decode(AuditEntry.self, from: Data(line)) { out.append(entry) }
        }
        return out
    }
}
