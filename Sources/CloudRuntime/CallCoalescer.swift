import CloudModel
import Foundation
import Synchronization

/// Merges concurrent calls of one read that takes a list (DescribeServices of one cluster,
/// DescribeServiceDeployments) into calls of up to `maxBatch` identifiers.
///
/// No timers: a call goes out at once when none is in flight for its key; calls that come
/// while one is in flight (or waiting for its token) queue and go together in the next call,
/// as soon as one finishes or as soon as `maxBatch` identifiers are queued. Each caller gets
/// the answers it asked for, in its order; missing ones are left out as in one call; when a
/// merged call fails, each of its callers asks again alone, so that an error reaches only the
/// caller it belongs to. Calls for more than `maxBatch` identifiers (or none) pass through. A
/// caller cancelled while it waits still gets its answer (the merged call is not cancelled
/// with it: it serves the others too).
public final class CallCoalescer<Answer: Sendable>: Sendable {
    public let maxBatch: Int
    /// The call that serves a batch: the key (a cluster) and the identifiers.
    let fetch: @Sendable (String, [String]) async throws -> [Answer]
    /// Whether an answer is the one an identifier asked for.
    let matches: @Sendable (Answer, String) -> Bool
    /// Told when a caller waits on a merged call and when the call's task hands the answers
    /// over (see `DeployClock.handOff`), so that a test clock knows the work is not over.
    let clock: (any DeployClock)?
    private let state = Mutex(State())

    private struct Waiter {
        let id: UInt64
        let services: [String]
        /// It gave its work back to the clock while it waits (the answer hands it back).
        let handsBack: Bool
        let continuation: CheckedContinuation<[Answer], any Error>
    }

    private struct Queue {
        var pending: [Waiter] = []
        /// Services asked for by `pending` (duplicates counted): a full batch is ready at `maxBatch`.
        var pendingServices = 0
        /// Calls in flight (or waiting for their token).
        var active = 0
    }

    private struct State {
        var nextID: UInt64 = 0
        var queues: [String: Queue] = [:]
        /// Waiters in a call in flight, by id.
        var inFlight: [UInt64: Waiter] = [:]
    }

    private struct Batch {
        let cluster: String
        let services: [String]
        let waiters: [UInt64]
    }

    public init(maxBatch: Int, clock: (any DeployClock)?, fetch: @escaping @Sendable (String, [String]) async throws -> [Answer],
                matches: @escaping @Sendable (Answer, String) -> Bool) {
        self.maxBatch = max(1, maxBatch)
        self.clock = clock
        self.fetch = fetch
        self.matches = matches
    }

    /// Callers waiting for a call to go out (not those in one in flight).
    public var queuedCallers: Int {
        state.withLock { $0.queues.values.reduce(0) { $0 + $1.pending.count } }
    }

    /// The answers for `items` of `key` (a cluster), from a call merged with the others that meet it.
    public func call(_ key: String, _ items: [String]) async throws -> [Answer] {
        let cluster = key
        let wanted = Self.unique(items)
        // A cancelled caller (e.g. reading the service's state for the record of a deployment
        // the shutdown stopped) calls alone, as it would unmerged.
        if wanted.isEmpty || wanted.count > maxBatch || Task.isCancelled {
            return try await fetch(key, items)
        }
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        // Waits on the merged call's task, which hands the work back with the answer.
        let handsBack = clock?.workDone() ?? false
        defer { if handsBack { clock?.takeUp(handedOff: true) } }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Answer], any Error>) in
            let batches = state.withLock { s -> [Batch] in
                var queue = s.queues[cluster] ?? Queue()
                queue.pending.append(Waiter(id: id, services: wanted, handsBack: handsBack, continuation: continuation))
                queue.pendingServices += wanted.count
                s.queues[cluster] = queue
                return Self.ready(&s, cluster: cluster, maxBatch: maxBatch, finished: false)
            }
            for batch in batches { start(batch) }
        }
    }

    /// The batches to send now for `cluster`: a partial one when nothing else is in flight or
    /// a call of the cluster just `finished` (its task sends the next), and every full one.
    private static func ready(_ s: inout State, cluster: String, maxBatch: Int, finished: Bool) -> [Batch] {
        guard var queue = s.queues[cluster] else { return [] }
        if finished { queue.active -= 1 }
        var batches: [Batch] = []
        while !queue.pending.isEmpty && (queue.active == 0 || queue.pendingServices >= maxBatch || (finished && batches.isEmpty)) {
            var services: [String] = []
            var chosen = Set<String>()
            var taken: [Waiter] = []
            var rest: [Waiter] = []
            rest.reserveCapacity(queue.pending.count)
            for waiter in queue.pending {
                if chosen.count < maxBatch || waiter.services.allSatisfy(chosen.contains) {
                    let new = waiter.services.filter { !chosen.contains($0) }
                    if chosen.count + new.count <= maxBatch {
                        for name in new { chosen.insert(name); services.append(name) }
                        taken.append(waiter)
                        continue
                    }
                }
                rest.append(waiter)
            }
            queue.pending = rest
            queue.pendingServices -= taken.reduce(0) { $0 + $1.services.count }
            queue.active += 1
            for waiter in taken { s.inFlight[waiter.id] = waiter }
            batches.append(Batch(cluster: cluster, services: services, waiters: taken.map(\.id)))
        }
        if queue.pending.isEmpty && queue.active == 0 {
            s.queues[cluster] = nil
        } else {
            s.queues[cluster] = queue
        }
        return batches
    }

    /// Sends `batch` on a task of its own (no caller's cancellation stops it), then whatever
    /// queued meanwhile.
    private func start(_ batch: Batch) {
        clock?.handOff(1)
        Task {
            clock?.takeUp(handedOff: true)
            defer { clock?.workDone() }
            var next: [Batch] = [batch]
            while !next.isEmpty {
                let batch = next.removeFirst()
                let result: Result<[Answer], any Error>
                do {
                    result = .success(try await fetch(batch.cluster, batch.services))
                } catch {
                    result = .failure(error)
                }
                let (waiters, more) = state.withLock { s -> ([Waiter], [Batch]) in
                    let waiters = batch.waiters.compactMap { s.inFlight.removeValue(forKey: $0) }
                    return (waiters, Self.ready(&s, cluster: batch.cluster, maxBatch: maxBatch, finished: true))
                }
                switch result {
                case .success(let found):
                    clock?.handOff(waiters.filter(\.handsBack).count)
                    for waiter in waiters { waiter.continuation.resume(returning: answer(for: waiter.services, from: found)) }
                case .failure(let error) where waiters.count == 1:
                    clock?.handOff(waiters.filter(\.handsBack).count)
                    waiters[0].continuation.resume(throwing: error)
                case .failure:
                    // One caller's bad identifier must not fail the others' deployments: each
                    // asks again on its own and gets the answer it would have had unmerged.
                    let fetch = self.fetch
                    // Each waiter asks on a task of its own, which hands the work back with
                    // the answer.
                    let clock = self.clock
                    clock?.handOff(waiters.count)
                    for waiter in waiters {
                        Task {
                            clock?.takeUp(handedOff: true)
                            let answer: Result<[Answer], any Error>
                            do {
                                answer = .success(try await fetch(batch.cluster, waiter.services))
                            } catch {
                                answer = .failure(error)
                            }
                            if waiter.handsBack { clock?.handOff(1) }
                            waiter.continuation.resume(with: answer)
                            clock?.workDone()
                        }
                    }
                }
                // The first batch that is ready continues on this task, any others on new ones.
                if let first = more.first {
                    next.append(first)
                    for other in more.dropFirst() { start(other) }
                }
            }
        }
    }

    /// The answers of a merged call that `items` asked for, in their order.
    func answer(for items: [String], from found: [Answer]) -> [Answer] {
        items.compactMap { wanted in found.first { matches($0, wanted) } }
    }

    static func unique(_ services: [String]) -> [String] {
        var seen = Set<String>()
        return services.filter { seen.insert($0).inserted }
    }
}
