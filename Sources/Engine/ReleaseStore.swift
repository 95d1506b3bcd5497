import Foundation
import Synchronization

/// Where release records live. Like `DeploymentStore` for deployments: written after every
/// change of a release or of one of its entries, before the next step that depends on it.
public protocol ReleaseStore: Sendable {
    /// Inserts or replaces the release (one transaction). A save never replaces a later state
    /// of the same release (one with a higher `revision`), so saves that arrive out of order
    /// leave the latest state stored.
    func save(_ release: ReleaseRecord) async throws
    func loadRelease(id: String) async throws -> ReleaseRecord?
    /// Newest first (by creation time, then by first save), `offset` records skipped, at most `limit`.
    func listReleases(limit: Int, offset: Int) async throws -> [ReleaseRecord]
    /// Every release whose status is not final (to resume after a restart), oldest first.
    func unfinishedReleases() async throws -> [ReleaseRecord]
    /// Deletes finished releases that finished before `date`; returns how many.
    func purgeReleases(finishedBefore date: Date) async throws -> Int
    /// Whether records outlive the process (then unfinished releases resume at the next start
    /// instead of being marked INTERRUPTED at shutdown).
    var isDurable: Bool { get }
}

extension ReleaseRecord {
    /// Grows by one with every recorded change (each change records one event): orders the
    /// saved states of a release.
    public var revision: Int { events.count }
}

/// Releases in memory: lost when the process exits.
public final class InMemoryReleaseStore: ReleaseStore {
    private struct Stored {
        var record: ReleaseRecord
        /// When it was first saved, to order releases created at the same instant.
        var order: Int
    }

    private let state = Mutex<(records: [String: Stored], saves: Int)>(([:], 0))

    public init() {}

    public var isDurable: Bool { false }

    public func save(_ release: ReleaseRecord) async throws {
        state.withLock { s in
            if let stored = s.records[release.id] {
                guard release.revision >= stored.record.revision else { return }
                s.records[release.id]?.record = release
            } else {
                s.saves += 1
                s.records[release.id] = Stored(record: release, order: s.saves)
            }
        }
    }

    public func loadRelease(id: String) async throws -> ReleaseRecord? {
        state.withLock { $0.records[id]?.record }
    }

    public func listReleases(limit: Int, offset: Int) async throws -> [ReleaseRecord] {
        let newestFirst = sorted().reversed()
        return Array(newestFirst.dropFirst(max(0, offset)).prefix(max(0, limit)))
    }

    public func unfinishedReleases() async throws -> [ReleaseRecord] {
        sorted().filter { !$0.status.isTerminal }
    }

    public func purgeReleases(finishedBefore date: Date) async throws -> Int {
        state.withLock { s in
            let old = s.records.values.map(\.record).filter { $0.status.isTerminal && ($0.finishedAt ?? $0.updatedAt) < date }
            for record in old { s.records[record.id] = nil }
            return old.count
        }
    }

    /// Oldest first.
    private func sorted() -> [ReleaseRecord] {
        state.withLock { Array($0.records.values) }
            .sorted { ($0.record.createdAt, $0.order) < ($1.record.createdAt, $1.order) }
            .map(\.record)
    }
}
