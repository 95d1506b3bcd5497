import Foundation
import Synchronization

/// Live subscribers to the events of records by id: each gets an `AsyncStream` that the owner
/// feeds and finishes. A subscriber that stops listening is removed at once (under the lock).
final class EventStreams<Event: Sendable>: Sendable {
    private struct Subscribers {
        var continuations: [String: [UUID: AsyncStream<Event>.Continuation]] = [:]
        /// Subscribers to the end only: they are not woken by each event.
        var endOnly: [String: [UUID: AsyncStream<Event>.Continuation]] = [:]
        /// The subscribers to the end that gave their work back to the clock while they wait.
        var handingBack: Set<UUID> = []

        /// Takes the record's subscribers out, to be finished outside the lock (finishing one
        /// calls its `onTermination`, which takes the lock).
        mutating func take(_ id: String) -> [AsyncStream<Event>.Continuation] {
            let taken = Array((continuations.removeValue(forKey: id) ?? [:]).values)
            let ends = endOnly.removeValue(forKey: id) ?? [:]
            for token in ends.keys { handingBack.remove(token) }
            return taken + Array(ends.values)
        }
    }

    private let subscribers = Mutex(Subscribers())

    init() {}

    /// A stream that first yields `history`; finished at once when `live` is false. With
    /// `history` nil the stream yields nothing: it only ends when the record's events end.
    /// `handsBack`: a subscriber to the end that gave its work back to the clock while it
    /// waits (see `endWaiters`).
    func subscribe(_ id: String, history: [Event]?, live: Bool, handsBack: Bool = false) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
        for event in history ?? [] { continuation.yield(event) }
        guard live else {
            continuation.finish()
            return stream
        }
        let token = UUID()
        subscribers.withLock { s in
            if history == nil {
                s.endOnly[id, default: [:]][token] = continuation
                if handsBack { s.handingBack.insert(token) }
            } else {
                s.continuations[id, default: [:]][token] = continuation
            }
        }
        continuation.onTermination = { [weak self] _ in self?.remove(id, token) }
        return stream
    }

    private func remove(_ id: String, _ token: UUID) {
        subscribers.withLock { s in
            s.continuations[id]?[token] = nil
            if s.continuations[id]?.isEmpty == true { s.continuations[id] = nil }
            s.endOnly[id]?[token] = nil
            if s.endOnly[id]?.isEmpty == true { s.endOnly[id] = nil }
            s.handingBack.remove(token)
        }
    }

    func yield(_ id: String, _ event: Event) {
        let listening = subscribers.withLock { s in Array((s.continuations[id] ?? [:]).values) }
        for c in listening { c.yield(event) }
    }

    func finish(_ id: String) {
        for c in subscribers.withLock({ $0.take(id) }) { c.finish() }
    }

    func finishAll() {
        let all = subscribers.withLock { s in
            Set(s.continuations.keys).union(s.endOnly.keys).flatMap { s.take($0) }
        }
        for c in all { c.finish() }
    }

    /// Subscribers to the end that gave their work back to the clock (`handsBack`): the end
    /// hands it back to each.
    func endWaiters(_ id: String) -> Int {
        subscribers.withLock { s in s.endOnly[id]?.keys.filter { s.handingBack.contains($0) }.count ?? 0 }
    }

    func count(_ id: String) -> Int {
        subscribers.withLock { s in (s.continuations[id]?.count ?? 0) + (s.endOnly[id]?.count ?? 0) }
    }
}
