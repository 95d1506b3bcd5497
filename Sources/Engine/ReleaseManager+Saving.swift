import Foundation

/// What of a release the store has not been given yet. A release's saves reach the store one
/// at a time, in order; the changes made while one is under way share the next.
struct UnsavedRelease {
    /// The entries changed since the last save.
    var entries: Set<Int> = []
    /// How many of the release's events the store has been given.
    var savedEvents: Int
    /// The next save writes the release whole: the store does not hold it yet, or a save failed.
    var whole: Bool
    var saving = false
    /// The changes waiting for the next save, resumed once it is done.
    var waiters: [CheckedContinuation<Void, Never>] = []
}

extension ReleaseManager {
    /// Starts keeping a release in this process: a new one (`stored` false: its first save is
    /// whole) or one read from the store.
    func adopt(_ record: ReleaseRecord, stored: Bool) {
        registry.hold(record, ReleaseLifecycle(record, durable: store.isDurable))
        unsaved[record.id] = UnsavedRelease(savedEvents: stored ? record.events.count : 0, whole: !stored)
    }

    /// Waits until the release's changes so far, with `entry`'s, have been saved. A failed save
    /// is logged (the release goes on: the next save writes it whole).
    func save(_ id: String, entry: Int?) async {
        guard unsaved[id] != nil else { return }
        if let entry { unsaved[id]!.entries.insert(entry) }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            unsaved[id]!.waiters.append(waiter)
            if !unsaved[id]!.saving {
                unsaved[id]!.saving = true
                Task { await self.drainSaves(id) }
            }
        }
    }

    /// Saves the release's pending changes, one save after another, until none is waiting.
    private func drainSaves(_ id: String) async {
        while let pending = takePendingChange(id) {
            let (change, waiters) = pending
            do {
                try await store.save(change)
            } catch {
                var log = env.logger
                log[metadataKey: "release_id"] = "\(id)"
                log.error("could not save release record: \(error)")
                unsaved[id]?.whole = true
                if let release = registry[id] {
                    for observer in observers { observer.saveFailed(release, error: error) }
                }
            }
            for waiter in waiters { waiter.resume() }
        }
        unsaved[id]?.saving = false
    }

    /// The change that holds everything not saved yet, and the callers waiting for it; nil
    /// when nobody waits. (No copy of the release outlives this call: the manager's next
    /// change stays in place.)
    private func takePendingChange(_ id: String) -> (ReleaseChange, [CheckedContinuation<Void, Never>])? {
        guard let pending = unsaved[id], !pending.waiters.isEmpty, let record = registry[id] else { return nil }
        let change = pending.whole ? ReleaseChange(whole: record)
            : ReleaseChange(record, entries: pending.entries, eventsFrom: pending.savedEvents)
        unsaved[id] = UnsavedRelease(savedEvents: record.events.count, whole: false, saving: true)
        return (change, pending.waiters)
    }
}
