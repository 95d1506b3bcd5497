/// # Simulated CloudWatch metrics
///
/// The simulator answers GetMetricData for the Application Load Balancer's per-target-group
/// metrics (namespace `AWS/ApplicationELB`, dimension `TargetGroup=targetgroup/NAME/ID`, and
/// optionally `LoadBalancer=app/NAME/ID`, which must be the target group's; or `LoadBalancer`
/// alone, for all its target groups together), computed from its own state:
/// - every listener and every listener rule receives `SimulatorSettings.requestsPerSecond`
///   (100), split between the target groups of its forward action by weight;
/// - a target group's requests are served by its `healthy` targets, each answering like its
///   task's image: `errors-<N>pct` answers N% of them 5XX, `slow-<N>ms` takes N ms; other
///   tasks answer `baseErrorRate` (0.2%) 5XX in `baseLatency` (50 ms);
/// - a target group with traffic and no healthy target: the load balancer answers 503
///   (`HTTPCode_ELB_5XX_Count`), no target metric;
/// - each period is measured by the state at its end (or now, for the current period), and
///   every value carries a deterministic noise of ±10%, so that two identical target groups
///   are alike but not equal;
/// - a period without requests has no datapoint.
///
/// Metrics: `RequestCount`, `HTTPCode_Target_2XX_Count`, `HTTPCode_Target_5XX_Count`,
/// `HTTPCode_ELB_5XX_Count` (statistics `Sum`, `SampleCount`); `TargetResponseTime` (`Average`,
/// `Minimum`, `Maximum`, `pNN`, `Sum`, `SampleCount`); `HealthyHostCount`,
/// `UnHealthyHostCount` (`Average`, `Minimum`, `Maximum`). Another metric has no datapoints, as
/// in CloudWatch. Expressions: arithmetic (`+ - * /`, parentheses, numbers) on other queries'
/// ids, per timestamp; anything else (SEARCH, Metrics Insights) is a ValidationError.
import CloudModel
import Foundation

extension SimulatorState {
    static let elbNamespace = "AWS/ApplicationELB"

    mutating func getMetricData(queries: [MetricDataQuery], start: Date, end: Date, now: Date) throws -> [MetricDataResult] {
        guard !queries.isEmpty, queries.count <= 500 else {
            throw Self.metricValidation("MetricDataQueries must hold 1 to 500 queries")
        }
        guard start < end else { throw Self.metricValidation("The parameter StartTime must be less than the parameter EndTime.") }
        var series: [String: [Date: Double]] = [:]
        for query in queries where query.metricStat != nil {
            series[query.id] = try statSeries(query.metricStat!, start: start, end: min(end, now), now: now)
        }
        for query in queries where query.metricStat == nil {
            guard let expression = query.expression else {
                throw Self.metricValidation("The query \(query.id) must have either a MetricStat or an Expression")
            }
            series[query.id] = try MetricExpression(expression, queryId: query.id).evaluate(series)
        }
        return queries.filter(\.returnData).map { query in
            let points = (series[query.id] ?? [:]).sorted { $0.key > $1.key }
            let label = query.label ?? query.metricStat.map { "\($0.metric.name) \($0.stat)" } ?? query.id
            return MetricDataResult(id: query.id, label: label, timestamps: points.map(\.key), values: points.map(\.value))
        }
    }

    static func metricValidation(_ message: String) -> CloudError {
        CloudError(code: "ValidationError", message: message, httpStatus: 400)
    }

    /// One datapoint per period of [start, end) in which the target group had requests.
    private mutating func statSeries(_ stat: MetricDataQuery.Stat, start: Date, end: Date, now: Date) throws -> [Date: Double] {
        guard stat.period > 0, stat.period == 1 || stat.period % 60 == 0 || [5, 10, 30].contains(stat.period) else {
            throw Self.metricValidation("The parameter MetricStat.Period must be 1, 5, 10, 30 or a multiple of 60")
        }
        guard stat.metric.namespace == Self.elbNamespace, let groups = groups(named: stat.metric.dimensions) else { return [:] }
        return try series(of: groups, stat, start: start, end: end, now: now)
    }

    /// The target groups whose metric the dimensions name: one (`TargetGroup`, with its
    /// `LoadBalancer` or not), or all of a load balancer's (`LoadBalancer` alone); nil when
    /// they name no metric (CloudWatch keeps no other set of dimensions for these).
    private func groups(named dimensions: [MetricDimension]) -> [String]? {
        let named = Dictionary(dimensions.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        guard Set(named.keys).isSubset(of: ["TargetGroup", "LoadBalancer"]) else { return nil }
        let onBalancer = { (group: String) in
            named["LoadBalancer"].map { lb in (self.targetGroups[group]?.loadBalancerArns ?? []).contains { Self.dimensionValue(of: $0) == lb } } ?? true
        }
        if let value = named["TargetGroup"] {
            guard let group = targetGroupOrder.first(where: { Self.dimensionValue(of: $0) == value }), onBalancer(group) else { return nil }
            return [group]
        }
        guard named["LoadBalancer"] != nil else { return nil }
        let groups = targetGroupOrder.filter(onBalancer)
        return groups.isEmpty ? nil : groups
    }

    /// One datapoint per period of [start, end) in which the groups had requests.
    mutating func series(of groups: [String], _ stat: MetricDataQuery.Stat, start: Date, end: Date, now: Date) throws -> [Date: Double] {
        for key in Set(groups.flatMap { targetGroupServices[$0] ?? [] }).sorted() {
            if let svc = services[key] { advance(svc, to: now) }
        }
        let period = TimeInterval(stat.period)
        var out: [Date: Double] = [:]
        var bucket = (start.timeIntervalSince1970 / period).rounded(.down) * period
        var buckets = 0
        while bucket < end.timeIntervalSince1970, buckets < 1440 {
            buckets += 1
            let from = Date(timeIntervalSince1970: bucket)
            bucket += period
            let at = min(Date(timeIntervalSince1970: bucket), now)
            let covered = at.timeIntervalSince(max(from, start))
            guard covered > 0 else { continue }
            let load = groups.map { targetGroupLoad($0, at: at) }.reduce(TargetGroupLoad(), +)
            let noise = 0.9 + 0.2 * Self.unitNoise("\(groups.joined(separator: ",")) \(stat.metric.name) \(from.timeIntervalSince1970)")
            if let value = try Self.statistic(stat, load, seconds: covered, noise: noise) { out[from] = value }
        }
        return out
    }

    /// `targetgroup/NAME/ID` and `app/NAME/ID`, as CloudWatch's `TargetGroup` and
    /// `LoadBalancer` dimensions name a target group and a load balancer.
    static func dimensionValue(of arn: String) -> String {
        if let range = arn.range(of: ":targetgroup/") { return "targetgroup/" + arn[range.upperBound...] }
        if let range = arn.range(of: ":loadbalancer/") { return String(arn[range.upperBound...]) }
        return arn
    }

    private static func statistic(_ stat: MetricDataQuery.Stat, _ load: TargetGroupLoad, seconds: TimeInterval,
                                  noise: Double) throws -> Double? {
        let requests = load.requestsPerSecond * seconds
        let served = load.servedPerSecond * seconds
        func count(_ value: Double) throws -> Double? {
            guard ["Sum", "SampleCount"].contains(stat.stat) else {
                throw metricValidation("The simulator keeps \(stat.metric.name) as Sum or SampleCount, not \(stat.stat)")
            }
            return (value * noise).rounded()
        }
        switch stat.metric.name {
        case "RequestCount": return requests > 0 ? try count(requests) : nil
        case "HTTPCode_Target_5XX_Count": return served > 0 ? try count(served * load.errorRate) : nil
        case "HTTPCode_Target_2XX_Count": return served > 0 ? try count(served * (1 - load.errorRate)) : nil
        case "HTTPCode_ELB_5XX_Count": return requests > served ? try count(requests - served) : nil
        case "TargetResponseTime":
            guard served > 0 else { return nil }
            switch stat.stat {
            case "Sum": return load.latency * noise * served
            case "SampleCount": return served.rounded()
            case "Average", "Minimum", "Maximum": return load.latency * noise
            case let p where p.hasPrefix("p") && Double(p.dropFirst()) != nil: return load.latency * noise
            default: throw metricValidation("The simulator keeps TargetResponseTime as Average, Minimum, Maximum, pNN, Sum or SampleCount, not \(stat.stat)")
            }
        case "HealthyHostCount", "UnHealthyHostCount":
            guard ["Average", "Minimum", "Maximum"].contains(stat.stat) else {
                throw metricValidation("The simulator keeps \(stat.metric.name) as Average, Minimum or Maximum, not \(stat.stat)")
            }
            return Double(stat.metric.name == "HealthyHostCount" ? load.healthyTargets : load.unhealthyTargets)
        default: return nil
        }
    }

    /// A deterministic number in [0, 1) for a key (FNV-1a).
    static func unitNoise(_ key: String) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Double(hash >> 11) / Double(1 << 53)
    }

    struct TargetGroupLoad {
        var requestsPerSecond = 0.0
        /// Those its healthy targets answer (the rest the load balancer answers 503).
        var servedPerSecond = 0.0
        var healthyTargets = 0
        var unhealthyTargets = 0
        /// Averages over the requests served.
        var errorRate = 0.0
        var latency = 0.0

        /// Two groups' traffic together (a load balancer's metrics).
        static func + (a: TargetGroupLoad, b: TargetGroupLoad) -> TargetGroupLoad {
            let served = a.servedPerSecond + b.servedPerSecond
            func mean(_ x: Double, _ y: Double) -> Double { served > 0 ? (x * a.servedPerSecond + y * b.servedPerSecond) / served : 0 }
            return TargetGroupLoad(requestsPerSecond: a.requestsPerSecond + b.requestsPerSecond, servedPerSecond: served,
                                   healthyTargets: a.healthyTargets + b.healthyTargets, unhealthyTargets: a.unhealthyTargets + b.unhealthyTargets,
                                   errorRate: mean(a.errorRate, b.errorRate), latency: mean(a.latency, b.latency))
        }
    }

    /// The traffic a target group receives at `t`, and how its targets answer it.
    private func targetGroupLoad(_ group: String, at t: Date) -> TargetGroupLoad {
        var load = TargetGroupLoad()
        for route in routes() {
            let weights = weights(of: route.resource, at: t) ?? route.actions.filter { $0.type == "forward" }.flatMap(\.weights)
            let total = weights.reduce(0) { $0 + max($1.weight, 0) }
            guard total > 0 else { continue }
            let share = weights.filter { $0.targetGroupArn == group }.reduce(0) { $0 + max($1.weight, 0) }
            load.requestsPerSecond += settings.requestsPerSecond * Double(share) / Double(total)
        }
        for key in (targetGroupServices[group] ?? []).sorted() {
            guard let svc = services[key] else { continue }
            for task in svc.tasks where task.targets.contains(where: { $0.targetGroupArn == group }) {
                switch task.targetState(at: t)?.state {
                case "healthy":
                    load.healthyTargets += 1
                    load.errorRate += task.errorRate ?? settings.baseErrorRate
                    load.latency += task.latency ?? settings.baseLatency
                case "unhealthy":
                    load.unhealthyTargets += 1
                default:
                    break
                }
            }
        }
        if load.healthyTargets > 0 {
            load.errorRate /= Double(load.healthyTargets)
            load.latency /= Double(load.healthyTargets)
            load.servedPerSecond = load.requestsPerSecond
        }
        return load
    }

    /// Every listener's default action and every rule, with the resource that names it.
    private func routes() -> [(resource: String, actions: [ListenerAction])] {
        var routes: [(resource: String, actions: [ListenerAction])] = []
        for arn in listenerOrder {
            guard let record = listeners[arn] else { continue }
            routes.append((arn, record.listener.defaultActions))
            routes += record.ruleArns.compactMap { rules[$0].map { ($0.ruleArn, $0.actions) } }
        }
        return routes
    }

    /// The forward weights a listener or rule had at `t`, from the changes applied since the
    /// simulator started; nil when none had been applied by then (its weights are as created).
    private func weights(of resource: String, at t: Date) -> [WeightedTargetGroup]? {
        weightChanges.last { $0.resourceArn == resource && $0.time <= t }?.weights
    }
}

/// Metric math as the simulator knows it: `+ - * /`, parentheses, numbers and the ids of other
/// queries, evaluated per timestamp (a timestamp missing from one operand is missing from the
/// result; a division by zero has no value).
struct MetricExpression {
    private indirect enum Node {
        case number(Double)
        case id(String)
        case binary(Character, Node, Node)
        case negate(Node)
    }

    private let root: Node

    init(_ text: String, queryId: String) throws {
        var parser = Parser(text: Array(text), queryId: queryId)
        root = try parser.expression()
        parser.skipSpaces()
        guard parser.at == parser.text.count else { throw parser.error() }
    }

    func evaluate(_ series: [String: [Date: Double]]) throws -> [Date: Double] {
        switch try value(root, series) {
        case .series(let s): return s
        case .scalar: return [:]
        }
    }

    private enum Value {
        case scalar(Double)
        case series([Date: Double])
    }

    private func value(_ node: Node, _ series: [String: [Date: Double]]) throws -> Value {
        switch node {
        case .number(let n): return .scalar(n)
        case .id(let id):
            guard let s = series[id] else {
                throw SimulatorState.metricValidation("Expression refers to \(id), which is not the id of a MetricStat query before it")
            }
            return .series(s)
        case .negate(let inner): return apply("*", .scalar(-1), try value(inner, series))
        case .binary(let op, let l, let r): return apply(op, try value(l, series), try value(r, series))
        }
    }

    private func apply(_ op: Character, _ l: Value, _ r: Value) -> Value {
        func combine(_ a: Double, _ b: Double) -> Double? {
            switch op {
            case "+": return a + b
            case "-": return a - b
            case "*": return a * b
            default: return b == 0 ? nil : a / b
            }
        }
        switch (l, r) {
        case let (.scalar(a), .scalar(b)): return .scalar(combine(a, b) ?? .nan)
        case let (.series(a), .scalar(b)): return .series(a.compactMapValues { combine($0, b) })
        case let (.scalar(a), .series(b)): return .series(b.compactMapValues { combine(a, $0) })
        case let (.series(a), .series(b)):
            var out: [Date: Double] = [:]
            for (t, x) in a { if let y = b[t], let v = combine(x, y) { out[t] = v } }
            return .series(out)
        }
    }

    private struct Parser {
        let text: [Character]
        let queryId: String
        var at = 0

        func error() -> CloudError {
            SimulatorState.metricValidation("Expression of query \(queryId) is not valid at position \(at + 1): "
                + "the simulator evaluates + - * /, parentheses, numbers and query ids")
        }

        mutating func skipSpaces() { while at < text.count, text[at] == " " { at += 1 } }

        mutating func expression() throws -> Node { try chain(["+", "-"]) { try $0.term() } }

        mutating func term() throws -> Node { try chain(["*", "/"]) { try $0.factor() } }

        /// Operands joined by operators of one precedence, left to right.
        private mutating func chain(_ operators: Set<Character>, _ operand: (inout Parser) throws -> Node) throws -> Node {
            var node = try operand(&self)
            while true {
                skipSpaces()
                guard at < text.count, operators.contains(text[at]) else { return node }
                let op = text[at]
                at += 1
                node = .binary(op, node, try operand(&self))
            }
        }

        mutating func factor() throws -> Node {
            skipSpaces()
            guard at < text.count else { throw error() }
            let c = text[at]
            if c == "(" {
                at += 1
                let node = try expression()
                skipSpaces()
                guard at < text.count, text[at] == ")" else { throw error() }
                at += 1
                return node
            }
            if c == "-" {
                at += 1
                return .negate(try factor())
            }
            let start = at
            if c.isNumber || c == "." {
                while at < text.count, text[at].isNumber || text[at] == "." { at += 1 }
                guard let n = Double(String(text[start..<at])) else { throw error() }
                return .number(n)
            }
            if c.isLetter, c.isLowercase {
                while at < text.count, text[at].isLetter || text[at].isNumber || text[at] == "_" { at += 1 }
                skipSpaces()
                guard at >= text.count || text[at] != "(" else { at = start; throw error() }
                return .id(String(text[start..<at]).trimmingCharacters(in: .whitespaces))
            }
            throw error()
        }
    }
}
