import CloudModel
import Engine
import Foundation

/// The `query` of a `provider: cloudwatch` template: GetMetricData's queries.
///
/// - A string is one expression (metric math or a Metrics Insights query), over `period`.
/// - A list holds metrics and expressions, each with an `id`:
///   `{id, namespace (default AWS/ApplicationELB), metric, dimensions: {Name: value}, stat, period, unit, label}`
///   or `{id, expression, label}`. The last entry is the value judged (`return_data` defaults
///   to false for the others and true for the last; exactly one may return data).
enum CloudWatchQueries {
    static func parse(_ t: ConfigObject) throws -> [MetricDataQuery] {
        let period = try Self.period(t) ?? 60
        if let expression = try? t.string("query") {
            guard !expression.isEmpty else { throw t.failure("query", "is required") }
            return [MetricDataQuery(id: "q", expression: expression, period: period)]
        }
        guard let entries = try t.objects("query"), !entries.isEmpty else {
            throw t.failure("query", "is required: an expression, or a list of metrics and expressions with ids")
        }
        guard entries.count <= 20 else { throw t.failure("query", "holds at most 20 entries") }
        var queries: [MetricDataQuery] = []
        for (i, e) in entries.enumerated() {
            try e.only(["id", "namespace", "metric", "dimensions", "stat", "period", "unit", "label", "expression", "return_data"])
            guard let id = try e.string("id"), validId(id) else {
                throw e.failure("id", "is required: a lowercase letter, then letters, digits or _ (e.g. errors)")
            }
            guard !queries.contains(where: { $0.id == id }) else { throw e.failure("id", "'\(id)' is given twice") }
            var query = MetricDataQuery(id: id, label: try e.string("label"), returnData: try e.bool("return_data") ?? (i == entries.count - 1))
            if let expression = try e.string("expression") {
                for key in ["metric", "namespace", "dimensions", "stat", "unit"] where e.fields[key] != nil {
                    throw e.failure(key, "is for a metric entry, not an expression")
                }
                query.expression = expression
                query.period = period
            } else {
                guard let metric = try e.string("metric"), !metric.isEmpty else {
                    throw e.failure("metric", "is required (e.g. HTTPCode_Target_5XX_Count), or give an expression")
                }
                guard let stat = try e.string("stat"), !stat.isEmpty else { throw e.failure("stat", "is required (e.g. Sum, Average, p99)") }
                let own = try Self.period(e) ?? period
                let dimensions = (try e.stringMap("dimensions") ?? [:]).sorted { $0.key < $1.key }
                    .map { MetricDimension(name: $0.key, value: $0.value) }
                let name = MetricName(namespace: try e.string("namespace") ?? "AWS/ApplicationELB", name: metric, dimensions: dimensions)
                query.metricStat = .init(metric: name, period: own, stat: stat, unit: try e.string("unit"))
            }
            queries.append(query)
        }
        let returning = queries.filter(\.returnData)
        guard returning.count == 1 else {
            throw t.failure("query", "exactly one entry returns data (return_data), the value judged; \(returning.count) do")
        }
        return queries
    }

    /// The queries as people read them, in messages and on stages:
    /// `errors = AWS/ApplicationELB HTTPCode_Target_5XX_Count Sum/60s TargetGroup={{target_group}}; rate = errors / requests`.
    static func shown(_ queries: [MetricDataQuery]) -> String {
        queries.map { q in
            if let stat = q.metricStat {
                let dimensions = stat.metric.dimensions.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                return "\(q.id) = \(stat.metric.namespace) \(stat.metric.name) \(stat.stat)/\(stat.period)s \(dimensions)"
            }
            return q.id == "q" && queries.count == 1 ? (q.expression ?? "") : "\(q.id) = \(q.expression ?? "")"
        }.joined(separator: "; ")
    }

    /// `period`: seconds (`60`) or a duration (`1m`), as CloudWatch allows it.
    static func period(_ o: ConfigObject) throws -> Int? {
        guard let text = try o.string("period") else { return nil }
        let seconds = Int(text) ?? GoDuration.parse(text).flatMap { $0.seconds <= 86400 ? Int($0.seconds) : nil }
        guard let seconds, [1, 5, 10, 30].contains(seconds) || (seconds >= 60 && seconds % 60 == 0 && seconds <= 86400) else {
            throw o.failure("period", "'\(text.prefix(32))' must be 1, 5, 10, 30 seconds or a multiple of 60 (e.g. 60 or 1m)")
        }
        return seconds
    }

    static func validId(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, ("a"..."z").contains(first), id.count <= 255 else { return false }
        return id.unicodeScalars.allSatisfy { CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_").contains($0) }
    }
}
