import CloudModel
import Foundation
import Synchronization

/// Where deployment records live. Written after every stage, before the next cloud call
/// that depends on it.
public protocol DeploymentStore: Sendable {
    /// Inserts or replaces the record (one transaction). A record with fewer events than the
    /// stored one (an older state: each change records an event) does not replace it, so saves
    /// that arrive out of order leave the latest state stored.
    func save(_ record: DeploymentRecord) async throws
    func load(id: String) async throws -> DeploymentRecord?
    /// Newest first (by creation time, then id), `offset` records skipped, at most `limit`.
    func list(_ filter: DeploymentFilter, limit: Int, offset: Int) async throws -> [DeploymentRecord]
    /// Every record whose status is not final (to resume after a restart).
    func unfinished() async throws -> [DeploymentRecord]
    /// Deletes finished records that finished before `date`; returns how many.
    func purge(finishedBefore date: Date) async throws -> Int
    /// Whether records outlive the process (then unfinished deployments resume at the next
    /// start instead of being marked INTERRUPTED at shutdown).
    var isDurable: Bool { get }
}

extension DeploymentStore {
    public var isDurable: Bool { false }

    /// Every matching record, newest first.
    public func list(_ filter: DeploymentFilter) async throws -> [DeploymentRecord] {
        try await list(filter, limit: Int.max, offset: 0)
    }
}

public struct DeploymentFilter: Sendable, Equatable {
    public var cluster: String?
    public var service: String?
    public var statuses: Set<DeploymentStatus>
    /// Created at or after.
    public var since: Date?
    /// Created before.
    public var until: Date?

    public init(cluster: String? = nil, service: String? = nil, statuses: Set<DeploymentStatus> = [], since: Date? = nil,
                until: Date? = nil) {
        self.cluster = cluster
        self.service = service
        self.statuses = statuses
        self.since = since
        self.until = until
    }

    /// Cluster and service compare by name, so an ARN and a name match.
    public func matches(_ record: DeploymentRecord) -> Bool {
        if let cluster, !cluster.isEmpty, record.request.cluster.arnResourceName != cluster.arnResourceName { return false }
        if let service, !service.isEmpty, record.request.service.arnResourceName != service.arnResourceName { return false }
        if !statuses.isEmpty, !statuses.contains(record.status) { return false }
        if let since, record.createdAt < since { return false }
        if let until, record.createdAt >= until { return false }
        return true
    }
}

/// Records in memory: lost when the process exits.
public final class InMemoryDeploymentStore: DeploymentStore {
    private let records = Mutex<[String: DeploymentRecord]>([:])

    public init() {}

    public func save(_ record: DeploymentRecord) async throws {
        records.withLock { stored in
            if let current = stored[record.id], current.events.count > record.events.count { return }
            stored[record.id] = record
        }
    }

    public func load(id: String) async throws -> DeploymentRecord? {
        records.withLock { $0[id] }
    }

    public func list(_ filter: DeploymentFilter, limit: Int, offset: Int) async throws -> [DeploymentRecord] {
        let sorted = records.withLock { Array($0.values) }
            .filter(filter.matches)
            .sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        return Array(sorted.dropFirst(max(0, offset)).prefix(max(0, limit)))
    }

    public func unfinished() async throws -> [DeploymentRecord] {
        records.withLock { Array($0.values) }.filter { !$0.status.isTerminal }
    }

    public func purge(finishedBefore date: Date) async throws -> Int {
        records.withLock { r in
            let old = r.values.filter { $0.status.isTerminal && ($0.finishedAt ?? $0.updatedAt) < date }.map(\.id)
            for id in old { r[id] = nil }
            return old.count
        }
    }
}
