@testable import Engine
import Foundation
import Synchronization
import Testing

/// How a release reaches its store: one change at a time, in order, each holding what changed
/// (not the whole release), and nothing lost when a save fails.
@Suite struct ReleaseSavingTests {
    /// Passes every change on to an in-memory store, and remembers it; fails the saves whose
    /// number (from 1) is in `failing`.
    final class RecordingStore: ReleaseStore {
        struct Saved {
            var isWhole: Bool
            var entries: Int
            var events: [Int]
            var failed: Bool
        }

        let inner = InMemoryReleaseStore()
        private let failing: Set<Int>
        private let log = Mutex<[Saved]>([])

        init(failing: Set<Int> = []) { self.failing = failing }

        var saved: [Saved] { log.withLock { $0 } }
        var isDurable: Bool { false }

        func save(_ change: ReleaseChange) async throws {
            let number = log.withLock { saved in
                saved.append(Saved(isWhole: change.isWhole, entries: change.entries.count, events: change.events.map(\.sequence),
                                   failed: false))
                return saved.count
            }
            if failing.contains(number) {
                log.withLock { $0[number - 1].failed = true }
                throw PlannedFailure()
            }
            try await inner.save(change)
        }

        func loadRelease(id: String) async throws -> ReleaseRecord? { try await inner.loadRelease(id: id) }
        func releaseIDs(startingWith prefix: String, limit: Int) async throws -> [String] {
            try await inner.releaseIDs(startingWith: prefix, limit: limit)
        }
        func listReleases(limit: Int, offset: Int) async throws -> [ReleaseRecord] { try await inner.listReleases(limit: limit, offset: offset) }
        func unfinishedReleases() async throws -> [ReleaseRecord] { try await inner.unfinishedReleases() }
        func purgeReleases(finishedBefore date: Date) async throws -> Int { try await inner.purgeReleases(finishedBefore: date) }
    }

    struct PlannedFailure: Error {}

    /// The release as stored once its changes so far are saved (the last save may still be on
    /// its way when the release's final state shows).
    static func stored(_ release: ReleaseRecord, by w: PipelinedReleaseTests.World, in store: RecordingStore) async throws -> ReleaseRecord? {
        await w.releases.save(release.id, entry: nil)
        return try await store.loadRelease(id: release.id)
    }

    @Test func eachSaveHoldsWhatChanged() async throws {
        let store = RecordingStore()
        let w = try PipelinedReleaseTests.World(services: 60, store: store)
        let final = try await w.run(ReleaseRequest(id: "r1", name: "big", entries: PipelinedReleaseTests.World.entries(60)))
        #expect(final.status == .succeeded, "\(final.error)")
        #expect(try await Self.stored(final, by: w, in: store) == final)

        let saved = store.saved
        // The first save is whole; after it, each entry is written once per change of it.
        #expect(saved.first?.isWhole == true)
        #expect(saved.first?.entries == 60)
        #expect(saved.dropFirst().allSatisfy { !$0.isWhole })
        let entryEvents = final.events.filter { !$0.entry.isEmpty }.count
        #expect(saved.dropFirst().map(\.entries).reduce(0, +) <= entryEvents)
        // Every event is handed over once, in order.
        #expect(saved.flatMap(\.events) == Array(1...final.events.count))
    }

    /// A failed save is logged and the release goes on; the next save writes it whole, so
    /// the store ends with every change.
    @Test func aFailedSaveIsMadeGoodByTheNext() async throws {
        let store = RecordingStore(failing: [4])
        let w = try PipelinedReleaseTests.World(services: 60, store: store)
        let final = try await w.run(ReleaseRequest(id: "r1", name: "big", entries: PipelinedReleaseTests.World.entries(60)))
        #expect(final.status == .succeeded, "\(final.error)")
        let saved = store.saved
        try #require(saved.count > 5)
        #expect(saved[3].failed)
        #expect(saved[4].isWhole)
        #expect(saved[4].entries == 60)
        #expect(saved.enumerated().filter { $0.element.isWhole }.map(\.offset) == [0, 4])
        #expect(try await Self.stored(final, by: w, in: store) == final)
    }
}
