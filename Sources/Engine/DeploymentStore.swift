import Foundation
import CloudModel
import Synchronization

/// Where deployment records live. Written after every stage, before the next cloud call
/// that depends on it.
public protocol DeploymentStore: Sendable {
    func save(_ record: DeploymentRecord) async throws
    func load(id: String) async throws -> DeploymentRecord?
    /// Newest first.
    func list(_ filter: DeploymentFilter) async throws -> [DeploymentRecord]
}

public struct DeploymentFilter: Sendable, Equatable {
    public var cluster: String?
    public var service: String?
    public var statuses: Set<DeploymentStatus>
    public init(cluster: String? = nil, service: String? = nil, statuses: Set<DeploymentStatus> = []) {
        self.cluster = cluster
        self.service = service
        self.statuses = statuses
    }

    public func matches(_ record: DeploymentRecord) -> Bool {
        if let cluster, !cluster.isEmpty, record.request.cluster.arnResourceName != cluster.arnResourceName { return false }
        if let service, !service.isEmpty, record.request.service.arnResourceName != service.arnResourceName { return false }
        if !statuses.isEmpty, !statuses.contains(record.status) { return false }
        return true
    }
}

/// Records in memory: lost when the process exits.
public final class InMemoryDeploymentStore: DeploymentStore {
    private let records = Mutex<[String: DeploymentRecord]>([:])

    public init() {}

    public func save(_ record: DeploymentRecord) async throws {
        records.withLock { $0[record.id] = record }
    }

    public func load(id: String) async throws -> DeploymentRecord? {
        records.withLock { $0[id] }
    }

    public func list(_ filter: DeploymentFilter) async throws -> [DeploymentRecord] {
        records.withLock { Array($0.values) }
            .filter(filter.matches)
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
    }
}
