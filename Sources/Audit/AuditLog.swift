import CloudModel
import Crypto
import Engine
import Foundation
import Synchronization

/// The audit log: one JSON line per state change of a deployment (see `AuditEntries`), of a
/// release (see `ReleaseAuditEntries`) and per drift report, each line chained to the one
/// before by `prev_hash` (see `AuditEntry`).
///
/// Every line is written and flushed to disk before `observe` returns, so a change the engine
/// reported to a client is in the log. A line that cannot be written is counted in
/// `failedWrites` and handed to `onError` (observers cannot throw); opening is checked at init.
public final class AuditLog: DeploymentObserver, Sendable {
    public let path: String
    private let clock: any DeployClock
    private let onError: (@Sendable (any Error) -> Void)?
    private let state: Mutex<State>
    /// The chain's key (`audit.key_file`): lines are chained by HMAC-SHA256 under it.
    private let key: SymmetricKey?
    private let anchors: (any AuditAnchorStore)?

    private struct State {
        var file: AuditFile?
        var lastHash: String
        var nextSeq: Int
        /// The start of a line that a failed write left in the file: the next write ends it.
        var cutLine: [UInt8]?
        var failedWrites = 0
    }

    /// Opens `path` for appending (creating it and its folder when missing) and continues the
    /// chain from its last line. Throws `AuditError` naming the path when it cannot be written,
    /// or when another process is writing it.
    ///
    /// A last line cut short (a crash mid-write) is ended with a newline and chained to, so it
    /// stays visible to `verify` as malformed instead of being glued to the next line.
    ///
    /// With `key`, new lines are chained by HMAC-SHA256 under it (`"chain":"hmac-sha256"`), so
    /// that a chain recomputed after an edit does not verify without the key. With `anchors`,
    /// the log is checked at open against the line the server last wrote (`AuditError.anchorMismatch`
    /// when it was dropped or changed) and every line written is recorded there.
    public init(path: String, clock: any DeployClock = SystemClock(), key: SymmetricKey? = nil,
                anchors: (any AuditAnchorStore)? = nil, onError: (@Sendable (any Error) -> Void)? = nil) throws {
        self.path = path
        self.clock = clock
        self.onError = onError
        self.key = key
        self.anchors = anchors
        let file = try AuditFile.openForAppend(path: path)
        var lastHash = AuditFormat.zeroHash
        var nextSeq = 1
        do {
            if let anchors, let anchor = try anchors.anchor(for: path) {
                let bytes = try Self.contents(path)
                if let problem = Self.anchorProblem(bytes, anchor) { throw AuditError.anchorMismatch(path: path, detail: problem) }
            }
            let tail = try file.tail()
            if let last = tail.lastLine {
                lastHash = AuditFormat.hash(last, key: key)
                if tail.complete, let entry = try? AuditFormat.decode(last) {
                    nextSeq = entry.seq + 1
                } else {
                    nextSeq = try file.countLines() + (tail.complete ? 1 : 2)
                }
                if !tail.complete { try file.append([UInt8(ascii: "\n")]) }
                if tail.complete { try anchors?.setAnchor(AuditAnchor(seq: nextSeq - 1, hash: AuditFormat.hash(last)), for: path) }
            }
        } catch let error as AuditFile.PartialWrite {
            file.release()
            throw AuditError.cannotOpen(path: path, reason: error.reason)
        } catch {
            file.release()
            throw error
        }
        state = Mutex(State(file: file, lastHash: lastHash, nextSeq: nextSeq))
    }

    deinit { close() }

    /// Closes the file. Later writes fail with `AuditError.closed`.
    public func close() {
        state.withLock { s in
            s.file?.release()
            s.file = nil
        }
    }

    /// Lines that could not be written since the log was opened.
    public var failedWrites: Int { state.withLock { $0.failedWrites } }

    // MARK: DeploymentObserver

    public func observe(_ event: DeploymentEvent, record: DeploymentRecord) {
        guard let entry = AuditEntries.entry(for: event, record: record) else { return }
        appendReportingErrors(entry)
    }

    public func drift(_ report: DriftReport) {
        appendReportingErrors(AuditEntries.entry(for: report, at: clock.now()))
    }

    func appendReportingErrors(_ entry: AuditEntry) {
        do { try append(entry) } catch { onError?(error) }
    }

    // MARK: Writing

    /// Writes `entry` as the next line (its `seq` and `prevHash` are set here) and flushes it to
    /// disk. Returns the entry as written.
    @discardableResult
    public func append(_ entry: AuditEntry) throws -> AuditEntry {
        try state.withLock { s in
            guard let file = s.file else { throw AuditError.closed(path: path) }
            var prefix: [UInt8] = []
            var prevHash = s.lastHash
            var seq = s.nextSeq
            if let cut = s.cutLine {
                // End the cut line first: it stays a line of the chain (and shows as malformed).
                prefix = [UInt8(ascii: "\n")]
                prevHash = AuditFormat.hash(cut, key: key)
                seq += 1
            }
            var entry = entry
            entry.seq = seq
            entry.prevHash = prevHash
            entry.chain = key == nil ? nil : AuditFormat.keyedChain
            let line = try AuditFormat.encode(entry)
            do throws(AuditFile.PartialWrite) {
                try file.append(prefix + line + [UInt8(ascii: "\n")])
            } catch {
                s.failedWrites += 1
                let lineBytes = error.written - prefix.count
                if lineBytes > line.count {
                    // Written whole, only the flush failed.
                    (s.cutLine, s.lastHash, s.nextSeq) = (nil, AuditFormat.hash(line, key: key), seq + 1)
                } else if lineBytes >= 0 {
                    // The cut line (if any) is ended; this one is cut unless nothing of it was written.
                    (s.lastHash, s.nextSeq) = (prevHash, seq)
                    s.cutLine = lineBytes > 0 ? Array(line[..<lineBytes]) : nil
                }
                throw AuditError.cannotWrite(path: path, reason: error.reason)
            }
            (s.cutLine, s.lastHash, s.nextSeq) = (nil, AuditFormat.hash(line, key: key), seq + 1)
            // Recorded under the lock, so that anchors follow the order of the lines.
            do { try anchors?.setAnchor(AuditAnchor(seq: seq, hash: AuditFormat.hash(line)), for: path) } catch { onError?(error) }
            return entry
        }
    }

    static func contents(_ path: String) throws -> [UInt8] {
        do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw AuditError.cannotRead(path: path, reason: error.localizedDescription)
        }
    }
}
