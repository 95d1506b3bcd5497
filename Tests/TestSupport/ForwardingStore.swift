import Engine
import Foundation

/// A test's deployment store that changes one thing (counts saves, refuses them, says it is
/// durable) and passes the rest on to `inner`.
public protocol ForwardingStore: DeploymentStore {
    var inner: InMemoryDeploymentStore { get }
}

extension ForwardingStore {
    public func save(_ record: DeploymentRecord) async throws { try await inner.save(record) }
    public func load(id: String) async throws -> DeploymentRecord? { try await inner.load(id: id) }
    public func list(_ filter: DeploymentFilter, limit: Int, offset: Int) async throws -> [DeploymentRecord] {
        try await inner.list(filter, limit: limit, offset: offset)
    }
    public func unfinished() async throws -> [DeploymentRecord] { try await inner.unfinished() }
    public func purge(finishedBefore date: Date) async throws -> Int { try await inner.purge(finishedBefore: date) }
}
