import Synchronization

/// A queue that one consumer waits on: elements in order, optionally bounded (past the limit
/// the oldest is dropped), closed once (nothing more is added; the consumer drains what is
/// left). The work groups' jobs and the notifier's notices go through one.
public final class WaitQueue<Element: Sendable>: Sendable {
    public enum Pushed {
        /// Queued; `dropped` made room for it (a bounded queue that was full).
        case queued(dropped: Element?)
        /// The queue is closed: not added.
        case refused
    }

    private struct State {
        var elements: [Element] = []
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private let limit: Int
    private let state = Mutex(State())

    public init(limit: Int = .max) { self.limit = max(1, limit) }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Adds an element; `accepted` runs first, under the queue's lock, when it is added (before
    /// the consumer can take it).
    @discardableResult
    public func push(_ element: Element, accepted: () -> Void = {}) -> Pushed {
        let (pushed, waiter) = state.withLock { s -> (Pushed, CheckedContinuation<Void, Never>?) in
            guard !s.closed else { return (.refused, nil) }
            accepted()
            s.elements.append(element)
            let dropped = s.elements.count > limit ? s.elements.removeFirst() : nil
            defer { s.waiter = nil }
            return (.queued(dropped: dropped), s.waiter)
        }
        waiter?.resume()
        return pushed
    }

    /// Nothing is added after this; the consumer takes what is left, then gets nothing.
    public func close() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Waits until there is something or the queue is closed, and takes up to `count`
    /// elements: empty only once the queue is closed and drained. A cancelled consumer closes
    /// the queue (and takes what is left).
    public func next(upTo count: Int = .max) async -> [Element] {
        while true {
            let taken = state.withLock { s -> [Element]? in
                guard !s.elements.isEmpty || s.closed else { return nil }
                let n = min(count, s.elements.count)
                defer { s.elements.removeFirst(n) }
                return Array(s.elements.prefix(n))
            }
            if let taken { return taken }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { s -> Bool in
                        if !s.elements.isEmpty || s.closed { return true }
                        s.waiter = waiter
                        return false
                    }
                    if ready { waiter.resume() }
                }
            } onCancel: {
                close()
            }
        }
    }

    /// Empties the queue; answers what it held.
    public func takeAll() -> [Element] {
        state.withLock { s in
            defer { s.elements = [] }
            return s.elements
        }
    }
}
