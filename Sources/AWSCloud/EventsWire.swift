import CloudModel
import Foundation

/// The other end of `EventsClient`: EventBridge's AWS JSON 1.1 requests (DescribeRule,
/// ListTargetsByRule, PutTargets, PutRule, ListRules) answered by an `EventsAPI` and, for the
/// two operations the server never calls, by closures of the simulator.
public struct EventsWire: Sendable {
    /// The X-Amz-Target prefix of EventBridge's operations.
    public static let targetPrefix = "AWSEvents."

    let events: any EventsAPI
    let putRule: @Sendable (_ name: String, _ schedule: String?, _ state: String?) async throws -> EventRule
    let listRules: @Sendable (_ prefix: String?) async throws -> [EventRule]

    public init(events: any EventsAPI,
                putRule: @escaping @Sendable (String, String?, String?) async throws -> EventRule,
                listRules: @escaping @Sendable (String?) async throws -> [EventRule]) {
        self.events = events
        self.putRule = putRule
        self.listRules = listRules
    }

    public func call(_ operation: String, _ input: JSONValue) async throws -> JSONValue {
        let read = WireInput(service: "events", operation: operation, body: input, invalidCode: "ValidationException")
        switch operation {
        case "DescribeRule":
            return Self.json(try await events.describeRule(name: try read.string("Name")))
        case "ListRules":
            return .object(["Rules": .array(try await listRules(read.optionalString("NamePrefix")).map(Self.json))])
        case "PutRule":
            let rule = try await putRule(try read.string("Name"), read.optionalString("ScheduleExpression"), read.optionalString("State"))
            return .object(["RuleArn": .string(rule.arn)])
        case "ListTargetsByRule":
            let targets = try await events.listTargetsByRule(rule: try read.string("Rule"))
            return .object(["Targets": .array(targets.map(\.json))])
        case "PutTargets":
            guard let list = input["Targets"]?.arrayValue, !list.isEmpty, list.count <= 10 else {
                throw read.invalid("Targets", "a list of 1 to 10 targets")
            }
            try await events.putTargets(rule: try read.string("Rule"), targets: list.map(RuleTarget.init(json:)))
            return .object(["FailedEntryCount": .number(0), "FailedEntries": .array([])])
        default:
            throw CloudError(code: "UnknownOperationException", message: "events:\(operation.prefix(100)) is not served by this endpoint")
        }
    }

    static func json(_ rule: EventRule) -> JSONValue {
        var fields: [String: JSONValue] = ["Name": .string(rule.name), "Arn": .string(rule.arn), "State": .string(rule.state),
                                           "EventBusName": .string("default")]
        if let schedule = rule.scheduleExpression { fields["ScheduleExpression"] = .string(schedule) }
        return .object(fields)
    }
}
