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
