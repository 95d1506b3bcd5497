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

    /// A copy of every record, by id.
    var all: [String: Record] { records.withLock { $0 } }

    var count: Int { records.withLock { $0.count } }
}
