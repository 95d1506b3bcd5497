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

/// CloudWatch alarms: what a deployment's bakes watch (`alarms`).
public protocol AlarmsAPI: Sendable {
    /// The alarms of these names that exist (metric and composite); a name that matches none
    /// is left out, as AWS does. At most 100 names a call.
    func describeAlarms(names: [String]) async throws -> [MetricAlarm]
}

/// Amazon SNS: where notifications to a topic go.
public protocol TopicsAPI: Sendable {
    /// Publishes a message to the topic; answers its message id.
    func publish(topicArn: String, subject: String, message: String) async throws -> String
}
