import CloudModel
import Engine
import GRDB

/// A `DeploymentFilter` as an SQL condition with its arguments; the same meaning as
/// `DeploymentFilter.matches`.
struct FilterQuery {
    var conditions: [String] = []
    var arguments = StatementArguments()

    init(_ filter: DeploymentFilter) {
        if let cluster = filter.cluster, !cluster.isEmpty {
            add("cluster = ?", [cluster.arnResourceName])
        }
        if let service = filter.service, !service.isEmpty {
            add("service = ?", [service.arnResourceName])
        }
        if !filter.statuses.isEmpty {
            let names = filter.statuses.map(\.rawValue).sorted()
            add("status IN (\(Array(repeating: "?", count: names.count).joined(separator: ", ")))",
                StatementArguments(names))
        }
        if let since = filter.since {
            add("created_at >= ?", [StoreCoding.column(since)])
        }
        if let until = filter.until {
            add("created_at < ?", [StoreCoding.column(until)])
        }
    }

    /// `WHERE ...`, or nothing when the filter matches every record.
    var whereClause: String {
        conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
    }

    private mutating func add(_ condition: String, _ values: StatementArguments) {
        conditions.append(condition)
        arguments += values
    }

    /// `status IN (...)` for a set of statuses written inline (they are fixed enum names).
    static func statusList(_ statuses: [DeploymentStatus]) -> String {
        "(" + statuses.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
    }
}
