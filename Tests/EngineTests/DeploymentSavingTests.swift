@testable import Engine
import CloudModel
import Foundation
import Synchronization
import Testing
import TestSupport

/// What a deployment's saves carry: every change is in the store by the end, each save waits
/// for the audit-like observers to settle, and a stage starting or progressing (or the facts a
/// stage records as it returns) rides on the next save instead of costing one of its own.
@Suite struct DeploymentSavingTests {
    /// Counts saves and passes them on to memory.
    final class CountingStore: ForwardingStore {
        let inner = InMemoryDeploymentStore()
        private let saves = Mutex<[Int]>([])

        /// The number of events each save carried.
        var saved: [Int] { saves.withLock { $0 } }

        func save(_ record: DeploymentRecord) async throws {
            saves.withLock { $0.append(record.events.count) }
            try await inner.save(record)
        }
    }

    /// Records how many events it had observed each time it was asked to settle.
    final class SettleRecorder: DeploymentObserver {
        private let state = Mutex<(observed: Int, settledAt: [Int])>((0, []))
        var settledAt: [Int] { state.withLock { $0.settledAt } }
        func observe(_ event: DeploymentEvent, record: DeploymentRecord) { state.withLock { $0.observed += 1 } }
        func settle() async { state.withLock { $0.settledAt.append($0.observed) } }
    }

    @Test func startsAndProgressRideOnTheNextSave() async throws {
        let store = CountingStore()
        let settles = SettleRecorder()
        let h = try EngineHarness(store: store, observers: [settles])
        let record = try await h.run(h.request("s1", strategy: .canary, config: ["canary_stages": "50,100", "stage_timeout": "1m"]))
        #expect(record.status == .succeeded)
        let kinds = record.events.map(\.kind)
        let riding = kinds.filter { $0 == .stageStarted || $0 == .stageProgress }.count
        #expect(riding > 0)
        // Every event is stored, and the saves were fewer than the events by at least those that
        // rode along (a stage's last facts ride on its success too); each save carried more.
        #expect(try await store.load(id: "s1")?.events == record.events)
        #expect(store.saved.count <= record.events.count - riding)
        #expect(zip(store.saved, store.saved.dropFirst()).allSatisfy { $0 < $1 })
        #expect(store.saved.last == record.events.count)
        // The observers were settled after every save, never for a riding event alone.
        #expect(settles.settledAt.count == store.saved.count)
        #expect(settles.settledAt.last == record.events.count)
    }

    /// Holds the save that records deployment `a`'s end until `open()` (giving its work back
    /// to the test clock meanwhile, as any wait does).
    final class HeldEndStore: ForwardingStore {
        let inner = InMemoryDeploymentStore()
        private let held = Mutex<(waiting: CheckedContinuation<Void, Never>?, done: Bool, clock: (any DeployClock)?)>((nil, false, nil))
        var holding: Bool { held.withLock { $0.waiting != nil } }
        func use(_ clock: any DeployClock) { held.withLock { $0.clock = clock } }

        func save(_ record: DeploymentRecord) async throws {
            if record.request.id == "a", record.status.isTerminal, !held.withLock({ $0.done }), let clock = held.withLock({ $0.clock }) {
                let wait = ParentWait(clock: clock)
                wait.waits()
                await withCheckedContinuation { c in held.withLock { $0.waiting = c } }
                wait.childEnds()
                wait.resumes()
            }
            try await inner.save(record)
        }

        func open() {
            held.withLock { h in
                h.done = true
                h.waiting?.resume()
                h.waiting = nil
            }
        }
    }

    /// Found by the soak: a caller that saw a deployment end and deployed the same service at
    /// once was refused ("already has a deployment in progress") while the end's save was still
    /// being written. The end, once visible, frees the service.
    @Test func aServiceIsFreeOnceItsDeploymentShowsItsEnd() async throws {
        let store = HeldEndStore()
        let h = try EngineHarness(store: store)
        store.use(h.clock)
        let a = try await h.run(h.request("a", strategy: .quicksync))
        #expect(a.status == .succeeded)
        #expect(store.holding, "the end's save is still held")
        let (b, existing) = try await h.engine.submit(h.request("b", strategy: .quicksync, image: "web:3"))
        #expect(!existing && b.status != .failed)
        store.open()
        #expect(try await h.waitUntilFinished("b").status == .succeeded)
    }
}
