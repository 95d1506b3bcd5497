import Foundation

/// Live subscribers to the events of records by id: each gets an `AsyncStream` that the owner
/// feeds and finishes. Not thread-safe by itself: owned by an actor.
struct EventStreams<Event: Sendable> {
    private var continuations: [String: [UUID: AsyncStream<Event>.Continuation]] = [:]
    /// Subscribers to the end only: they are not woken by each event.
    private var endOnly: [String: [UUID: AsyncStream<Event>.Continuation]] = [:]
    /// The subscribers to the end that gave their work back to the clock while they wait.
    private var handingBack: Set<UUID> = []

    /// A stream that first yields `history`; finished at once when `live` is false. With
    /// `history` nil the stream yields nothing: it only ends when the record's events end.
    /// `handsBack`: a subscriber to the end that gave its work back to the clock while it
    /// waits (see `endWaiters`).
    mutating func subscribe(_ id: String, history: [Event]?, live: Bool, handsBack: Bool = false,
                            onEnd: @escaping @Sendable (UUID) -> Void) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
        for event in history ?? [] { continuation.yield(event) }
        guard live else {
            continuation.finish()
            return stream
        }
        let token = UUID()
        if history == nil {
            endOnly[id, default: [:]][token] = continuation
            if handsBack { handingBack.insert(token) }
        } else {
            continuations[id, default: [:]][token] = continuation
        }
        continuation.onTermination = { _ in onEnd(token) }
        return stream
    }

    mutating func remove(_ id: String, _ token: UUID) {
        continuations[id]?[token] = nil
        if continuations[id]?.isEmpty == true { continuations[id] = nil }
        endOnly[id]?[token] = nil
        if endOnly[id]?.isEmpty == true { endOnly[id] = nil }
        handingBack.remove(token)
    }

    func yield(_ id: String, _ event: Event) {
        for c in continuations[id]?.values ?? [:].values { c.yield(event) }
    }

    mutating func finish(_ id: String) {
        for c in continuations[id]?.values ?? [:].values { c.finish() }
        for c in endOnly[id]?.values ?? [:].values { c.finish() }
        for token in endOnly[id]?.keys ?? [:].keys { handingBack.remove(token) }
        continuations[id] = nil
        endOnly[id] = nil
    }

    mutating func finishAll() {
        for id in Set(continuations.keys).union(endOnly.keys) { finish(id) }
    }

    /// Subscribers to the end that gave their work back to the clock (`handsBack`): the end
    /// hands it back to each.
    func endWaiters(_ id: String) -> Int { endOnly[id]?.keys.filter { handingBack.contains($0) }.count ?? 0 }

    func count(_ id: String) -> Int { (continuations[id]?.count ?? 0) + (endOnly[id]?.count ?? 0) }
}
