import Foundation

/// A CloudWatch alarm's state, as DescribeAlarms answers it.
public enum AlarmState: String, Sendable, Codable, Equatable {
    case ok = "OK"
    case alarm = "ALARM"
    case insufficientData = "INSUFFICIENT_DATA"
}

/// A CloudWatch alarm (metric or composite) and where it stands.
public struct MetricAlarm: Sendable, Equatable, Codable {
    public var name: String
    public var state: AlarmState
    public var reason: String

    public init(name: String, state: AlarmState, reason: String = "") {
        self.name = name
        self.state = state
        self.reason = reason
    }
}

/// Amazon CloudWatch: the alarms a deployment's bakes watch (`alarms`) and the metrics its
/// analysis templates query (`provider: cloudwatch`).
public protocol CloudWatchAPI: Sendable {
    /// The alarms of these names that exist (metric and composite); a name that matches none
    /// is left out, as AWS does. At most 100 names a call.
    func describeAlarms(names: [String]) async throws -> [MetricAlarm]
    /// GetMetricData over [start, end): one result per query whose `returnData` is true, its
    /// datapoints newest first (every page).
    func getMetricData(queries: [MetricDataQuery], start: Date, end: Date) async throws -> [MetricDataResult]
}

/// A metric, as CloudWatch names it: `AWS/ApplicationELB` `HTTPCode_Target_5XX_Count`
/// `TargetGroup=targetgroup/web/0123`.
public struct MetricName: Sendable, Equatable, Codable {
    public var namespace: String
    public var name: String
    /// Dimension name -> value, in the order given.
    public var dimensions: [MetricDimension]

    public init(namespace: String, name: String, dimensions: [MetricDimension] = []) {
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions
    }
}

public struct MetricDimension: Sendable, Equatable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One entry of GetMetricData's `MetricDataQueries`: a metric with a statistic over periods
/// (`metric`), or an expression over the other entries' ids (`expression`).
public struct MetricDataQuery: Sendable, Equatable, Codable {
    public struct Stat: Sendable, Equatable, Codable {
        public var metric: MetricName
        /// Seconds (a multiple of 60, or 1, 5, 10, 30 for high resolution).
        public var period: Int
        /// `Sum`, `Average`, `Maximum`, `Minimum`, `SampleCount`, `p99`, ...
        public var stat: String
        public var unit: String?

        public init(metric: MetricName, period: Int, stat: String, unit: String? = nil) {
            self.metric = metric
            self.period = period
            self.stat = stat
            self.unit = unit
        }
    }

    public var id: String
    public var metricStat: Stat?
    public var expression: String?
    public var label: String?
    /// Seconds, for an expression.
    public var period: Int?
    public var returnData: Bool

    public init(id: String, metricStat: Stat? = nil, expression: String? = nil, label: String? = nil, period: Int? = nil,
                returnData: Bool = true) {
        self.id = id
        self.metricStat = metricStat
        self.expression = expression
        self.label = label
        self.period = period
        self.returnData = returnData
    }
}

/// GetMetricData's answer for one query: datapoints newest first.
public struct MetricDataResult: Sendable, Equatable {
    public var id: String
    public var label: String
    public var timestamps: [Date]
    public var values: [Double]
    /// `Complete`, `PartialData`, `InternalError`, `Forbidden`.
    public var statusCode: String

    public init(id: String, label: String = "", timestamps: [Date], values: [Double], statusCode: String = "Complete") {
        self.id = id
        self.label = label
        self.timestamps = timestamps
        self.values = values
        self.statusCode = statusCode
    }
}

/// Amazon SNS: where notifications to a topic go.
public protocol TopicsAPI: Sendable {
    /// Publishes a message to the topic; answers its message id.
    func publish(topicArn: String, subject: String, message: String) async throws -> String
}
