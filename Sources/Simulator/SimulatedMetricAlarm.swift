import CloudModel
import Foundation

/// A CloudWatch metric alarm on the simulator's own load balancer metrics (mock mode's
/// `mock.alarms`): its state is worked out whenever it is described, from the last
/// `evaluationPeriods` complete periods: ALARM when every one of them crosses the threshold,
/// INSUFFICIENT_DATA when one has no datapoint, OK otherwise.
public struct SimulatedMetricAlarm: Sendable, Equatable {
    /// The target groups it watches, by name: one, or all of a load balancer's.
    public enum Scope: Sendable, Equatable {
        case targetGroup(String)
        case loadBalancer(String)
    }

    public enum Comparison: String, Sendable, CaseIterable {
        case greaterOrEqual = ">=", lessOrEqual = "<=", greater = ">", less = "<"

        var words: String {
            switch self {
            case .greaterOrEqual: "greater than or equal to"
            case .lessOrEqual: "less than or equal to"
            case .greater: "greater than"
            case .less: "less than"
            }
        }

        func crosses(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .greaterOrEqual: value >= threshold
            case .lessOrEqual: value <= threshold
            case .greater: value > threshold
            case .less: value < threshold
            }
        }
    }

    /// The metrics the simulator keeps (see SimulatorState+Metrics.swift).
    public static let metrics = ["RequestCount", "HTTPCode_Target_2XX_Count", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count",
                                 "TargetResponseTime", "HealthyHostCount", "UnHealthyHostCount"]

    public var name: String
    public var metric: String
    public var stat: String
    /// Seconds.
    public var period: Int
    public var scope: Scope
    public var comparison: Comparison
    public var threshold: Double
    public var evaluationPeriods: Int

    public init(name: String, metric: String, stat: String = "Sum", period: Int = 60, scope: Scope, comparison: Comparison,
                threshold: Double, evaluationPeriods: Int = 1) {
        self.name = name
        self.metric = metric
        self.stat = stat
        self.period = period
        self.scope = scope
        self.comparison = comparison
        self.threshold = threshold
        self.evaluationPeriods = evaluationPeriods
    }
}

extension SimulatorState {
    /// The alarm's state now.
    mutating func evaluate(_ alarm: SimulatedMetricAlarm, now: Date) throws -> MetricAlarm {
        let groups: [String]
        switch alarm.scope {
        case .targetGroup(let name):
            groups = targetGroupOrder.filter { targetGroups[$0]?.targetGroupName == name }
        case .loadBalancer(let name):
            let balancers = Set(loadBalancerOrder.filter { loadBalancers[$0]?.loadBalancerName == name })
            groups = targetGroupOrder.filter { !(Set(targetGroups[$0]?.loadBalancerArns ?? []).isDisjoint(with: balancers)) }
        }
        let period = TimeInterval(alarm.period)
        let end = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / period).rounded(.down) * period)
        let start = end.addingTimeInterval(-period * Double(alarm.evaluationPeriods))
        let stat = MetricDataQuery.Stat(metric: MetricName(namespace: Self.elbNamespace, name: alarm.metric), period: alarm.period, stat: alarm.stat)
        let points = groups.isEmpty ? [:] : try series(of: groups, stat, start: start, end: end, now: now)
        guard points.count >= alarm.evaluationPeriods else {
            return MetricAlarm(name: alarm.name, state: .insufficientData,
                               reason: "Insufficient Data: \(points.count) datapoints were received for \(alarm.evaluationPeriods) periods.")
        }
        let values = points.sorted { $0.key > $1.key }.map(\.value)
        let crossing = values.filter { alarm.comparison.crosses($0, alarm.threshold) }.count
        let shown = values.map { String(format: "%.4g", $0) }.joined(separator: ", ")
        if crossing == values.count {
            return MetricAlarm(name: alarm.name, state: .alarm, reason: "Threshold Crossed: \(values.count) datapoint(s) [\(shown)] "
                + "\(values.count == 1 ? "was" : "were") \(alarm.comparison.words) the threshold (\(alarm.threshold)).")
        }
        return MetricAlarm(name: alarm.name, state: .ok, reason: "Threshold Crossed: \(values.count - crossing) of \(values.count) "
            + "datapoint(s) [\(shown)] not \(alarm.comparison.words) the threshold (\(alarm.threshold)).")
    }
}
