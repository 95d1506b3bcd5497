import CloudModel
import Crypto
import Engine
import Foundation
import Synchronization

/// The audit log: one JSON line per state change of a deployment (see `AuditEntries`), of a
/// release (see `ReleaseAuditEntries`) and per drift report, each line chained to the one
/// before by `prev_hash` (see `AuditEntry`).
///
/// A change's line is written when the engine observes it and flushed to disk before the
/// engine's `settle` returns (before the change is reported to a client), so a change the
/// engine reported to a client is in the log. Lines observed meanwhile by other deployments
/// share one fsync (group commit). `append` (refused calls, the CLI) flushes at once. A line
/// that cannot be written is counted in `failedWrites` and handed to `onError` (observers
/// cannot throw); opening is checked at init.
public final class AuditLog: DeploymentObserver, Sendable {
    public let path: String
    private let clock: any DeployClock
    private let onError: (@Sendable (any Error) -> Void)?
    private let state: Mutex<State>
    /// The chain's key (`audit.key_file`): lines are chained by HMAC-SHA256 under it.
    let key: SymmetricKey?
    private let anchors: (any AuditAnchorStore)?
    /// Where observed lines are flushed: off Swift's cooperative pool, which an fsync would hold.
    private let syncQueue = DispatchQueue(label: "ecs-deploy.audit-sync")

    private struct State {
        var file: AuditFile?
        var lastHash: String
        var nextSeq: Int
        /// The start of a line that a failed write left in the file: the next write ends it.
        var cutLine: [UInt8]?
        var failedWrites = 0
        /// Lines written by `observe` and not flushed yet; the last one becomes the anchor once
        /// they are.
        var unsynced: AuditAnchor?
        var syncing = false
        /// `settle` callers waiting for the next flush.
        var waiters: [CheckedContinuation<Void, Never>] = []
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

    /// Closes the file, after flushing and anchoring the lines observed since the last `settle`.
    /// Later writes fail with `AuditError.closed`.
    public func close() {
        state.withLock { s in
            if let anchor = s.unsynced {
                if !flush(s.file, anchoring: anchor) { s.failedWrites += 1 }
                s.unsynced = nil
            }
            s.file?.release()
            s.file = nil
        }
    }

    /// Whether observed lines wait for their flush (or one is under way).
    public var isFlushing: Bool { state.withLock { $0.unsynced != nil || $0.syncing } }

    /// Lines that could not be written since the log was opened.
    public var failedWrites: Int { state.withLock { $0.failedWrites } }

    // MARK: DeploymentObserver

    public func observe(_ event: DeploymentEvent, record: DeploymentRecord) {
        guard let entry = AuditEntries.entry(for: event, record: record) else { return }
        writeReportingErrors(entry)
    }

    /// Returns once every line observed so far is on disk (one fsync for all the lines written
    /// while the previous one ran), and anchored.
    public func settle() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let start: Bool? = state.withLock { s in
                guard s.unsynced != nil || s.syncing else { return nil }
                s.waiters.append(waiter)
                if s.syncing { return false }
                s.syncing = true
                return true
            }
            switch start {
            case nil: waiter.resume()
            case true?: syncQueue.async { self.flushObserved() }
            case false?: break
            }
        }
    }

    /// Flushes the observed lines, round after round, while anyone waits; anchors the last line
    /// of each round once it is on disk.
    private func flushObserved() {
        while true {
            let round: (file: AuditFile?, anchor: AuditAnchor?, waiters: [CheckedContinuation<Void, Never>])? = state.withLock { s in
                guard !s.waiters.isEmpty else {
                    s.syncing = false
                    return nil
                }
                defer { (s.waiters, s.unsynced) = ([], nil) }
                return (s.file, s.unsynced, s.waiters)
            }
            guard let round else { return }
            if let anchor = round.anchor, !flush(round.file, anchoring: anchor) { state.withLock { $0.failedWrites += 1 } }
            for waiter in round.waiters { waiter.resume() }
        }
    }

    /// Flushes the lines written to `file`, then records `anchor` (the last of them). False,
    /// with the error handed to `onError`, when the flush failed.
    private func flush(_ file: AuditFile?, anchoring anchor: AuditAnchor) -> Bool {
        do throws(AuditFile.PartialWrite) {
            guard let file else { throw AuditFile.PartialWrite(written: 0, reason: "the log is closed") }
            try file.sync()
        } catch {
            onError?(AuditError.cannotWrite(path: path, reason: error.reason))
            return false
        }
        do { try anchors?.setAnchor(anchor, for: path) } catch { onError?(error) }
        return true
    }

    public func drift(_ report: DriftReport) {
        appendReportingErrors(AuditEntries.entry(for: report, at: clock.now()))
    }

    func appendReportingErrors(_ entry: AuditEntry) {
        do { try append(entry) } catch { onError?(error) }
    }

    /// Writes the line without waiting for the disk: `settle` does.
    func writeReportingErrors(_ entry: AuditEntry) {
        do { _ = try write(entry, durable: false) } catch { onError?(error) }
    }

    // MARK: Writing

    /// Writes `entry` as the next line (its `seq` and `prevHash` are set here) and flushes it to
    /// disk. Returns the entry as written.
    @discardableResult
    public func append(_ entry: AuditEntry) throws -> AuditEntry {
        try write(entry, durable: true)
    }

    /// Writes `entry` as the next line; `durable`: flushed and anchored before it returns, else
    /// left for `settle`.
    private func write(_ entry: AuditEntry, durable: Bool) throws -> AuditEntry {
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
                let bytes = prefix + line + [UInt8(ascii: "\n")]
                if durable { try file.append(bytes) } else { try file.writeAll(bytes) }
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
            let anchor = AuditAnchor(seq: seq, hash: AuditFormat.hash(line))
            guard durable else {
                s.unsynced = anchor
                return entry
            }
            // Recorded under the lock, so that anchors follow the order of the lines (an anchor
            // only moves forward: a flush round's older one is then left as it is).
            do { try anchors?.setAnchor(anchor, for: path) } catch { onError?(error) }
            return entry
        }
    }

    static func contents(_ path: String) throws -> [UInt8] {
        do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw AuditError.cannotRead(path: path, reason: error.localizedDescription)
        }
    }
}
