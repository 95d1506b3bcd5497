/// The result of checking an audit log's chain (`AuditLog.verify(path:)`).
public struct AuditVerification: Sendable, Equatable, CustomStringConvertible {
    /// Lines from the start of the file that check out (before the first problem).
    public var validLines: Int
    /// Lines in the file (a last line without its newline counts).
    public var totalLines: Int
    /// The first problem found, or nil when the whole file checks out.
    public var problem: AuditProblem?

    public init(validLines: Int, totalLines: Int, problem: AuditProblem?) {
        self.validLines = validLines
        self.totalLines = totalLines
        self.problem = problem
    }

    public var isValid: Bool { problem == nil }

    public var description: String {
        guard let problem else { return "\(validLines) lines, chain intact" }
        return "\(validLines) of \(totalLines) lines check out; \(problem)"
    }
}

/// Where the chain of an audit log breaks first, and how.
///
/// A chain shows a change anywhere but at the end: an edited or removed last line leaves no
/// later line to disagree with it.
public struct AuditProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The line was changed after it was written (the next line's prev_hash disagrees).
        case edited
        /// `count` lines were removed just before this line (its seq skips them).
        case removed(count: Int)
        /// The line was not written by the log (the next line chains past it, or its seq repeats).
        case inserted
        /// The line is not an audit entry (not JSON, or fields missing).
        case malformed(String)
        /// The file ends in the middle of this line (a write cut short).
        case truncated
        /// The line is chained with a key (`audit.key_file`) that was not given.
        case keyRequired
        /// An unkeyed line after keyed ones: the chain was recomputed without the key.
        case unkeyed
        /// The log ends at `seq`, not at the line the server recorded last.
        case endsAt(seq: Int, expected: Int)
    }

    /// 1-based line number: the edited, inserted, malformed or truncated line, or the line just
    /// after the removed ones.
    public var line: Int
    public var kind: Kind

    public init(line: Int, kind: Kind) {
        self.line = line
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .edited: "line \(line) was edited (line \(line + 1)'s prev_hash does not match it)"
        case .removed(let count): "\(count) line\(count == 1 ? " was" : "s were") removed before line \(line)"
        case .inserted: "line \(line) was inserted (it is not part of the chain)"
        case .malformed(let reason): "line \(line) is not an audit entry: \(reason)"
        case .truncated: "line \(line), the last, is cut short"
        case .keyRequired: "line \(line) is chained with a key: give it (--key-file) to check the log"
        case .unkeyed: "line \(line) is not keyed although earlier lines are: the chain was recomputed without the key"
        case .endsAt(let seq, let expected):
            seq < expected ? "the log ends at seq \(seq), but the server wrote up to seq \(expected): lines were removed"
                : "the log goes on to seq \(seq), past seq \(expected) that the server wrote last: lines were added"
        }
    }
}
