@testable import Audit
import Crypto
import Foundation
import Synchronization
import Testing

/// What an unkeyed chain cannot show: a chain recomputed after an edit, and the last lines
/// dropped or the file emptied. A keyed chain and the server's anchor show both.
@Suite struct AuditKeyAndAnchorTests {
    static let key = SymmetricKey(data: Data("0123456789abcdef0123456789abcdef".utf8))

    final class Anchors: AuditAnchorStore {
        let stored = Mutex<[String: AuditAnchor]>([:])
        func anchor(for path: String) throws -> AuditAnchor? { stored.withLock { $0[path] } }
        func setAnchor(_ anchor: AuditAnchor, for path: String) throws { stored.withLock { $0[path] = anchor } }
    }

    func log(_ count: Int, key: SymmetricKey? = key, anchors: Anchors? = nil) throws -> (String, [String], URL) {
        let folder = AuditFixtures.folder()
        let path = folder.appendingPathComponent("audit.jsonl").path
        do {
            let log = try AuditLog(path: path, key: key, anchors: anchors)
            AuditFixtures.writeEvents(log, count: count)
            log.close()
        }
        return (path, try AuditFixtures.lines(path), folder)
    }

    /// What someone without the key can do: edit a line and chain every later line anew.
    func recomputed(_ lines: [String], editing index: Int, keepMarker: Bool) throws -> [String] {
        var out: [String] = []
        var previous: String?
        for (i, line) in lines.enumerated() {
            var entry = try JSONDecoder().decode(AuditEntry.self, from: Data(line.utf8))
            if i == index { entry.user = "mallory" }
            entry.prevHash = previous.map { AuditFormat.hash(Array($0.utf8)) } ?? AuditFormat.zeroHash
            entry.chain = keepMarker ? entry.chain : nil
            let text = String(decoding: try AuditFormat.encode(entry), as: UTF8.self)
            out.append(text)
            previous = text
        }
        return out
    }

    @Test func aKeyedChainVerifiesOnlyWithItsKey() throws {
        let (path, lines, folder) = try log(4)
        defer { AuditFixtures.cleanUp(folder) }
        #expect(lines.allSatisfy { $0.contains(#""chain":"hmac-sha256""#) })
        #expect(try AuditLog.verify(path: path, key: Self.key).isValid)
        #expect(try AuditLog.verify(path: path).problem == AuditProblem(line: 1, kind: .keyRequired))
        let wrong = SymmetricKey(data: Data("another key, just as long as the first".utf8))
        #expect(try AuditLog.verify(path: path, key: wrong).problem?.kind == .edited)

        // An unkeyed chain recomputed after an edit verifies without a key: the old weakness.
        let (plainPath, plainLines, plainFolder) = try log(4, key: nil)
        defer { AuditFixtures.cleanUp(plainFolder) }
        try AuditFixtures.write(try recomputed(plainLines, editing: 1, keepMarker: false), to: plainPath)
        #expect(try AuditLog.verify(path: plainPath).isValid)

        // The keyed one does not, with or without its markers.
        try AuditFixtures.write(try recomputed(lines, editing: 1, keepMarker: true), to: path)
        #expect(try AuditLog.verify(path: path, key: Self.key).isValid == false)
        try AuditFixtures.write(try recomputed(lines, editing: 1, keepMarker: false), to: path)
        #expect(try AuditLog.verify(path: path, key: Self.key).isValid, "a wholly unkeyed rewrite chains; the anchor and --expect-last-seq catch it")
        try AuditFixtures.write(Array(lines.prefix(2)) + Array(try recomputed(lines, editing: 3, keepMarker: false).suffix(2)), to: path)
        #expect(try AuditLog.verify(path: path, key: Self.key).problem?.line == 3)
    }

    @Test func aKeyedLogGoesOnFromAnUnkeyedOne() throws {
        let (path, _, folder) = try log(2, key: nil)
        defer { AuditFixtures.cleanUp(folder) }
        do {
            let log = try AuditLog(path: path, key: Self.key)
            AuditFixtures.writeEvents(log, count: 2)
            log.close()
        }
        #expect(try AuditLog.verify(path: path, key: Self.key).isValid)
        #expect(try AuditLog.verify(path: path, key: Self.key, expectedLastSeq: 4).isValid)
    }

    @Test func theExpectedLastSeqFindsDroppedLinesAndAnEmptiedFile() throws {
        let (path, lines, folder) = try log(5)
        defer { AuditFixtures.cleanUp(folder) }
        try AuditFixtures.write(Array(lines.prefix(3)), to: path)
        #expect(try AuditLog.verify(path: path, key: Self.key).isValid, "without the expected end, a shorter log looks whole")
        let result = try AuditLog.verify(path: path, key: Self.key, expectedLastSeq: 5)
        #expect(result.problem?.kind == .endsAt(seq: 3, expected: 5))
        #expect("\(result)".contains("lines were removed"))
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(try AuditLog.verify(path: path, key: Self.key, expectedLastSeq: 5).problem?.kind == .endsAt(seq: 0, expected: 5))
    }

    @Test func theAnchorRefusesALogThatIsNotAsTheServerLeftIt() throws {
        let anchors = Anchors()
        let (path, lines, folder) = try log(3, anchors: anchors)
        defer { AuditFixtures.cleanUp(folder) }
        #expect(try anchors.anchor(for: path)?.seq == 3)
        // As left: it opens, and goes on.
        do {
            let log = try AuditLog(path: path, key: Self.key, anchors: anchors)
            AuditFixtures.writeEvents(log, count: 1)
            log.close()
        }
        #expect(try anchors.anchor(for: path)?.seq == 4)
        let all = try AuditFixtures.lines(path)
        for (name, changed) in [("last line dropped", Array(all.prefix(3))), ("emptied", []),
                                ("last line edited", Array(all.prefix(3)) + [all[3].replacingOccurrences(of: "alice", with: "mallory")])] {
            try AuditFixtures.write(changed, to: path)
            #expect(throws: AuditError.self, "\(name)") { try AuditLog(path: path, key: Self.key, anchors: anchors) }
            do { _ = try AuditLog(path: path, key: Self.key, anchors: anchors) } catch {
                #expect("\(error)".contains("audit acknowledge"), "\(error)")
            }
        }
        _ = lines
    }
}

/// Lines observed by many deployments at once are flushed together and anchored once on disk.
@Suite struct AuditGroupFlushTests {
    @Test func settleFlushesAndAnchorsEveryObservedLine() async throws {
        let folder = AuditFixtures.folder()
        defer { AuditFixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("audit.jsonl").path
        let anchors = AuditKeyAndAnchorTests.Anchors()
        let log = try AuditLog(path: path, key: AuditKeyAndAnchorTests.key, anchors: anchors)
        AuditFixtures.writeEvents(log, count: 3)
        // Written, not anchored until flushed.
        #expect(try AuditFixtures.lines(path).count == 3)
        #expect(try anchors.anchor(for: path) == nil)
        #expect(log.isFlushing)
        await log.settle()
        #expect(try anchors.anchor(for: path)?.seq == 3)
        #expect(!log.isFlushing)
        // Many deployments observing and settling at once: every line is there, chained, anchored.
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    AuditFixtures.writeEvents(log, count: 2, id: "deploy-\(i)")
                    await log.settle()
                }
            }
        }
        #expect(try anchors.anchor(for: path)?.seq == 83)
        log.close()
        #expect(try AuditLog.verify(path: path, key: AuditKeyAndAnchorTests.key).isValid)
        #expect(try AuditFixtures.lines(path).count == 83)
    }
}
