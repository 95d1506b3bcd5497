import Crypto
import Foundation

extension AuditLog {
    /// Checks the chain of the audit log at `path`, line by line, and reports the first line
    /// that is malformed, cut short, or out of the chain (edited, removed or inserted lines).
    /// Keyed lines (`"chain":"hmac-sha256"`) are checked with `key`, and without it reported
    /// as not checkable; an unkeyed line after keyed ones is a chain recomputed without the
    /// key. With `expectedLastSeq` (the server's record of its last line) a log that ends
    /// elsewhere (last lines dropped, or an emptied file) is reported too.
    /// Throws `AuditError.cannotRead` when the file cannot be read.
    public static func verify(path: String, key: SymmetricKey? = nil, expectedLastSeq: Int? = nil) throws -> AuditVerification {
        AuditChainCheck(bytes: try contents(path), key: key).run(expectedLastSeq: expectedLastSeq)
    }
}

/// The verification itself, over the file's bytes.
struct AuditChainCheck {
    private let lines: [ArraySlice<UInt8>]
    private let endsWithNewline: Bool
    private let key: SymmetricKey?

    init(bytes: [UInt8], key: SymmetricKey? = nil) {
        self.key = key
        endsWithNewline = bytes.last == UInt8(ascii: "\n")
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if bytes.isEmpty || endsWithNewline { lines.removeLast() }
        self.lines = lines
    }

    func run(expectedLastSeq: Int? = nil) -> AuditVerification {
        var previous: AuditEntry?
        var keyed = false
        for index in lines.indices {
            let entry: AuditEntry
            switch parse(index) {
            case .success(let parsed): entry = parsed
            case .failure(let reason):
                let cut = index == lines.count - 1 && !endsWithNewline
                return failed(AuditProblem(line: index + 1, kind: cut ? .truncated : .malformed(reason)))
            }
            if entry.chain == AuditFormat.keyedChain {
                guard key != nil else { return failed(AuditProblem(line: index + 1, kind: .keyRequired)) }
                keyed = true
            } else if keyed {
                return failed(AuditProblem(line: index + 1, kind: .unkeyed))
            }
            let expected = index == 0 ? AuditFormat.zeroHash : hash(index - 1, for: entry)
            if entry.prevHash != expected {
                return failed(diagnose(index, entry, previousSeq: previous?.seq ?? 0))
            }
            previous = entry
        }
        if let expectedLastSeq, (previous?.seq ?? 0) != expectedLastSeq {
            return AuditVerification(validLines: lines.count, totalLines: lines.count,
                                     problem: AuditProblem(line: lines.count, kind: .endsAt(seq: previous?.seq ?? 0, expected: expectedLastSeq)))
        }
        return AuditVerification(validLines: lines.count, totalLines: lines.count, problem: nil)
    }

    /// The `prev_hash` that `entry` must carry for line `index`: keyed when `entry` is.
    private func hash(_ index: Int, for entry: AuditEntry) -> String {
        index < 0 ? AuditFormat.zeroHash : AuditFormat.hash(lines[index], key: entry.chain == AuditFormat.keyedChain ? key : nil)
    }

    private func failed(_ problem: AuditProblem) -> AuditVerification {
        AuditVerification(validLines: problem.line - 1, totalLines: lines.count, problem: problem)
    }

    /// Line `index` does not chain to the line before it: which change explains that best.
    private func diagnose(_ index: Int, _ entry: AuditEntry, previousSeq: Int) -> AuditProblem {
        let lineNumber = index + 1
        // The next line chains to the line before this one: this one was slipped in.
        if index + 1 < lines.count, case .success(let next) = parse(index + 1), next.prevHash == hash(index - 1, for: next) {
            return AuditProblem(line: lineNumber, kind: .inserted)
        }
        // This line chains to the line two before: the line before it was slipped in.
        if index >= 1, entry.prevHash == hash(index - 2, for: entry) {
            return AuditProblem(line: lineNumber - 1, kind: .inserted)
        }
        let expectedSeq = previousSeq + 1
        if entry.seq > expectedSeq {
            return AuditProblem(line: lineNumber, kind: .removed(count: entry.seq - expectedSeq))
        }
        if entry.seq < expectedSeq {
            return AuditProblem(line: lineNumber, kind: .inserted)
        }
        // In sequence, yet not chained: the line before was changed (or, on the first line, this one).
        return AuditProblem(line: max(1, lineNumber - 1), kind: .edited)
    }

    private enum Parsed {
        case success(AuditEntry)
        case failure(String)
    }

    private func parse(_ index: Int) -> Parsed {
        let line = lines[index]
        if line.isEmpty { return .failure("empty line") }
        let entry: AuditEntry
        do {
            entry = try AuditFormat.decode(line)
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure("no \(key.stringValue) field")
        } catch let DecodingError.typeMismatch(_, context) {
            return .failure("wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))")
        } catch {
            return .failure("not valid JSON")
        }
        guard AuditFormat.isHash(entry.prevHash) else { return .failure("prev_hash is not a hex SHA-256") }
        if let chain = entry.chain, chain != AuditFormat.keyedChain { return .failure("unknown chain '\(chain.prefix(32))'") }
        return .success(entry)
    }
}
