import Foundation
import Synchronization

/// Where release records live. Like `DeploymentStore` for deployments: written after every
/// change of a release or of one of its entries, before the next step that depends on it.
public protocol ReleaseStore: Sendable {
    /// Records one change of a release, in one transaction: its state, the entries the change
    /// wrote and the events it added (a whole change: the release with every entry and event).
    /// A change costs what it changes, not the size of the release: a release of 1000 entries
    /// records some 3000 changes. A change of a release the store does not hold, unless whole,
    /// throws `ReleaseNotStored`. A change never replaces a later state of the release (one
    /// with a higher `revision`).
    func save(_ change: ReleaseChange) async throws
    func loadRelease(id: String) async throws -> ReleaseRecord?
    /// Ids that start with `prefix` (case-insensitive), at most `limit` (to find a Git release
    /// by a short commit hash).
    func releaseIDs(startingWith prefix: String, limit: Int) async throws -> [String]
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

extension ReleaseStore {
    /// Saves the release whole.
    public func save(_ release: ReleaseRecord) async throws {
        try await save(ReleaseChange(whole: release))
    }
}

extension ReleaseRecord {
    /// Grows by one with every recorded change (each change records one event): orders the
    /// saved states of a release.
    public var revision: Int { events.count }
}

/// One change of a release as a store records it.
public struct ReleaseChange: Sendable {
    /// The release after the change, without its entries and events (they are below).
    public var release: ReleaseRecord
    /// The release's revision after the change.
    public var revision: Int
    /// Whether the change holds every entry and every event of the release.
    public var isWhole: Bool
    /// The entries the change wrote, by index, in index order (every entry when whole).
    public var entries: [(index: Int, state: EntryState)]
    /// The events past `eventsFrom` (every event when whole), oldest first.
    public var events: [ReleaseEvent]

    /// The whole release.
    public init(whole release: ReleaseRecord) {
        self.init(release, entries: release.entries.indices, eventsFrom: 0)
        isWhole = true
    }

    /// The entries at `indices` and the events from the `eventsFrom`-th on.
    public init(_ release: ReleaseRecord, entries indices: some Sequence<Int>, eventsFrom: Int) {
        var bare = release
        bare.entries = []
        bare.events = []
        self.release = bare
        self.revision = release.revision
        self.isWhole = false
        self.entries = indices.filter { release.entries.indices.contains($0) }.sorted().map { ($0, release.entries[$0]) }
        self.events = Array(release.events[min(max(0, eventsFrom), release.events.count)...])
    }

    public var id: String { release.id }
}

/// A change (not whole) of a release that the store does not hold.
public struct ReleaseNotStored: Error, CustomStringConvertible {
    public let id: String
    public init(id: String) { self.id = id }
    public var description: String { "release \(id) is not in the store: only a whole release can be saved" }
}

/// Releases in memory: lost when the process exits.
public final class InMemoryReleaseStore: ReleaseStore {
    private struct Stored {
        var record: ReleaseRecord
        /// When it was first saved, to order releases created at the same instant.
        var order: Int

        /// Takes in a change (not whole). The stored arrays are this store's own, changed in
        /// place: the change costs what it changes.
        mutating func apply(_ change: ReleaseChange) {
            // Swaps, not copies: the arrays stay uniquely held, and change in place.
            var entries: [EntryState] = []
            var events: [ReleaseEvent] = []
            swap(&entries, &record.entries)
            swap(&events, &record.events)
            for (index, state) in change.entries where entries.indices.contains(index) {
                entries[index] = state
            }
            for event in change.events where event.sequence > events.count {
                events.append(event)
            }
            record = change.release
            swap(&record.entries, &entries)
            swap(&record.events, &events)
        }
    }

    private let state = Mutex<(records: [String: Stored], saves: Int)>(([:], 0))

    public init() {}

    public var isDurable: Bool { false }

    public func save(_ change: ReleaseChange) async throws {
        try state.withLock { s in
            let id = change.id
            if let stored = s.records[id], stored.record.revision > change.revision { return }
            if change.isWhole {
                var record = change.release
                record.entries = change.entries.map(\.state)
                record.events = change.events
                let order: Int
                if let stored = s.records[id] {
                    order = stored.order
                } else {
                    s.saves += 1
                    order = s.saves
                }
                s.records[id] = Stored(record: record, order: order)
            } else {
                guard s.records[id] != nil else { throw ReleaseNotStored(id: id) }
                s.records[id]!.apply(change)
            }
        }
    }

    public func loadRelease(id: String) async throws -> ReleaseRecord? {
        state.withLock { $0.records[id]?.record }
    }

    public func releaseIDs(startingWith prefix: String, limit: Int) async throws -> [String] {
        let p = prefix.lowercased()
        return Array(state.withLock { $0.records.keys.filter { $0.lowercased().hasPrefix(p) } }.sorted().prefix(limit))
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
