import CloudModel
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
    public init(path: String, clock: any DeployClock = SystemClock(), onError: (@Sendable (any Error) -> Void)? = nil) throws {
        self.path = path
        self.clock = clock
        self.onError = onError
        let file = try AuditFile.openForAppend(path: path)
        var lastHash = AuditFormat.zeroHash
        var nextSeq = 1
        do {
            let tail = try file.tail()
            if let last = tail.lastLine {
                lastHash = AuditFormat.hash(last)
                if tail.complete, let entry = try? AuditFormat.decode(last) {
                    nextSeq = entry.seq + 1
                } else {
                    nextSeq = try file.countLines() + (tail.complete ? 1 : 2)
                }
                if !tail.complete { try file.append([UInt8(ascii: "\n")]) }
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
                prevHash = AuditFormat.hash(cut)
                seq += 1
            }
            var entry = entry
            entry.seq = seq
            entry.prevHash = prevHash
            let line = try AuditFormat.encode(entry)
            do throws(AuditFile.PartialWrite) {
                try file.append(prefix + line + [UInt8(ascii: "\n")])
            } catch {
                s.failedWrites += 1
                let lineBytes = error.written - prefix.count
                if lineBytes > line.count {
                    // Written whole, only the flush failed.
                    (s.cutLine, s.lastHash, s.nextSeq) = (nil, AuditFormat.hash(line), seq + 1)
                } else if lineBytes >= 0 {
                    // The cut line (if any) is ended; this one is cut unless nothing of it was written.
                    (s.lastHash, s.nextSeq) = (prevHash, seq)
                    s.cutLine = lineBytes > 0 ? Array(line[..<lineBytes]) : nil
                }
                throw AuditError.cannotWrite(path: path, reason: error.reason)
            }
            (s.cutLine, s.lastHash, s.nextSeq) = (nil, AuditFormat.hash(line), seq + 1)
            return entry
        }
    }
}
