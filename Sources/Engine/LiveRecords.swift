import Synchronization

/// The records an actor is running, readable without entering the actor: a status read takes
/// the latest record under a lock instead of queueing behind the actor's writes. Only the
/// owning actor writes.
final class LiveRecords<Record: Sendable>: Sendable {
    private let records = Mutex<[String: Record]>([:])

    subscript(id: String) -> Record? {
        get { records.withLock { $0[id] } }
        set { records.withLock { $0[id] = newValue } }
    }

    /// Changes a record in place (no copy of it is made for the change); nil when it is not here.
    func modify<T: Sendable>(_ id: String, _ body: (inout Record) -> T) -> T? {
        records.withLock { records in
            guard records[id] != nil else { return nil }
            return body(&records[id]!)
        }
    }

    /// A copy of every record, by id.
    var all: [String: Record] { records.withLock { $0 } }

    var count: Int { records.withLock { $0.count } }
}

/// The last records an actor finished (at most `capacity`, the oldest leaving first), readable
/// without entering it: whoever waited for a record's end reads it here rather than from the
/// store. Only the owning actor writes.
final class RecentRecords<Record: Sendable>: Sendable {
    private let capacity: Int
    private let state = Mutex<(records: [String: Record], order: [String], head: Int)>(([:], [], 0))

    init(capacity: Int) { self.capacity = capacity }

    subscript(id: String) -> Record? { state.withLock { $0.records[id] } }

    /// Keeps `record` as the latest of `id`, evicting the oldest kept when full.
    func keep(_ id: String, _ record: Record) {
        state.withLock { s in
            if s.records.updateValue(record, forKey: id) != nil { return }
            if s.order.count < capacity {
                s.order.append(id)
                return
            }
            s.records[s.order[s.head]] = nil
            s.order[s.head] = id
            s.head = (s.head + 1) % capacity
        }
    }

    /// Forgets them all (the store's copies changed: a purge).
    func removeAll() { state.withLock { $0 = ([:], [], 0) } }
}
