import Audit
import Foundation
import Testing

@Suite struct AuditVerifyTests {
    /// A log of `count` lines at a path of its own; `body` gets the path and the lines.
    private func withLog(lines count: Int, _ body: (String, [String]) throws -> Void) throws {
        let folder = AuditFixtures.folder()
        defer { AuditFixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("audit.jsonl").path
        do {
            let log = try AuditLog(path: path)
            AuditFixtures.writeEvents(log, count: count)
        }
        try body(path, try AuditFixtures.lines(path))
    }

    @Test func findsAnEditedLine() throws {
        try withLog(lines: 5) { path, lines in
            var edited = lines
            edited[1] = edited[1].replacingOccurrences(of: "\"user\":\"alice\"", with: "\"user\":\"mallory\"")
            #expect(edited[1] != lines[1])
            try AuditFixtures.write(edited, to: path)
            let result = try AuditLog.verify(path: path)
            #expect(result.problem == AuditProblem(line: 2, kind: .edited))
            #expect(result.validLines == 1)
            #expect(result.totalLines == 5)
        }
    }

    @Test func findsAnEditedFirstLine() throws {
        try withLog(lines: 3) { path, lines in
            var edited = lines
            edited[0] = edited[0].replacingOccurrences(of: "line 1", with: "line one")
            try AuditFixtures.write(edited, to: path)
            #expect(try AuditLog.verify(path: path).problem == AuditProblem(line: 1, kind: .edited))
        }
    }

    @Test func findsRemovedLines() throws {
        try withLog(lines: 6) { path, lines in
            var removed = lines
            removed.remove(at: 2)
            try AuditFixtures.write(removed, to: path)
            let result = try AuditLog.verify(path: path)
            #expect(result.problem == AuditProblem(line: 3, kind: .removed(count: 1)))
            #expect(result.validLines == 2)

            try AuditFixtures.write(Array(lines.dropFirst(2)), to: path)
            #expect(try AuditLog.verify(path: path).problem == AuditProblem(line: 1, kind: .removed(count: 2)))
        }
    }

    @Test func findsAnInsertedLine() throws {
        try withLog(lines: 5) { path, lines in
            var inserted = lines
            inserted.insert(lines[1], at: 3)  // a copy of line 2 slipped in as line 4
            try AuditFixtures.write(inserted, to: path)
            let result = try AuditLog.verify(path: path)
            #expect(result.problem == AuditProblem(line: 4, kind: .inserted))
            #expect(result.validLines == 3)
        }
    }

    /// A forged line that chains correctly to its predecessor still breaks the line after it.
    @Test func findsAWellForgedInsertedLine() throws {
        try withLog(lines: 4) { path, lines in
            var forged = try AuditFixtures.object(lines[1])
            forged["prev_hash"] = AuditFixtures.sha256(lines[1])
            forged["seq"] = 3
            forged["user"] = "mallory"
            let forgedLine = String(decoding: try JSONSerialization.data(withJSONObject: forged, options: [.sortedKeys]),
                                    as: UTF8.self)
            var inserted = lines
            inserted.insert(forgedLine, at: 2)
            try AuditFixtures.write(inserted, to: path)
            #expect(try AuditLog.verify(path: path).problem == AuditProblem(line: 3, kind: .inserted))
        }
    }

    @Test func findsAMalformedLine() throws {
        try withLog(lines: 5) { path, lines in
            var broken = lines
            broken[2] = "{\"event_type\": \"deployment.started\""
            try AuditFixtures.write(broken, to: path)
            let result = try AuditLog.verify(path: path)
            #expect(result.problem?.line == 3)
            guard case .malformed = result.problem?.kind else {
                Issue.record("expected a malformed line, got \(result)")
                return
            }
            #expect(result.validLines == 2)

            broken[2] = #"{"event_type":"deployment.started"}"#
            try AuditFixtures.write(broken, to: path)
            #expect(try AuditLog.verify(path: path).problem?.line == 3)

            broken[2] = ""
            try AuditFixtures.write(broken, to: path)
            #expect(try AuditLog.verify(path: path).problem == AuditProblem(line: 3, kind: .malformed("empty line")))
        }
    }

    @Test func findsATruncatedLastLine() throws {
        try withLog(lines: 3) { path, lines in
            var cut = lines
            cut[2] = String(cut[2].prefix(40))
            try AuditFixtures.write(cut, to: path, finalNewline: false)
            let result = try AuditLog.verify(path: path)
            #expect(result == AuditVerification(validLines: 2, totalLines: 3, problem: AuditProblem(line: 3, kind: .truncated)))
        }
    }

    /// A log reopened after a write was cut short ends the cut line and chains on from it:
    /// the cut line stays visible (malformed), the later lines are chained.
    @Test func reopeningAfterACutWriteKeepsTheCutLineVisible() throws {
        try withLog(lines: 3) { path, lines in
            var cut = lines
            cut[2] = String(cut[2].prefix(40))
            try AuditFixtures.write(cut, to: path, finalNewline: false)
            do {
                let log = try AuditLog(path: path)
                AuditFixtures.writeEvents(log, count: 1, id: "after")
            }
            let after = try AuditFixtures.lines(path)
            #expect(after.count == 4)
            #expect(after[2] == cut[2])
            let last = try AuditFixtures.object(after[3])
            #expect(last["prev_hash"] as? String == AuditFixtures.sha256(cut[2]))
            #expect(last["seq"] as? Int == 4)
            let result = try AuditLog.verify(path: path)
            #expect(result.problem?.line == 3)
            guard case .malformed = result.problem?.kind else {
                Issue.record("expected a malformed line, got \(result)")
                return
            }
        }
    }

    @Test func missingFileIsAnError() {
        #expect(throws: AuditError.self) { try AuditLog.verify(path: "/nonexistent/audit.jsonl") }
    }
}
