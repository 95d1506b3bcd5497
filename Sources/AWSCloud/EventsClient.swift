import AWSAuth
import CloudModel
import Foundation

/// Amazon EventBridge over AWS JSON 1.1. Targets travel as raw JSON, so PutTargets writes
/// back every field a target had, known to this code or not.
public struct EventsClient: EventsAPI {
    let rpc: JSONProtocol

    public init(transport: AWSTransport, environment: AWSEnvironment) {
        rpc = JSONProtocol(transport: transport, service: .eventBridge, environment: environment)
    }

    public func describeRule(name: String) async throws -> EventRule {
        let answer = try await rpc.call("DescribeRule", ["Name": .string(name)])
        let read = ResponseReader(call: "events:DescribeRule")
        return EventRule(name: try read.string(answer, "Name", in: "rule"), arn: try read.string(answer, "Arn", in: "rule"),
                         scheduleExpression: answer["ScheduleExpression"]?.stringValue,
                         state: answer["State"]?.stringValue ?? "ENABLED")
    }

    /// Every page of the rule's targets.
    public func listTargetsByRule(rule: String) async throws -> [RuleTarget] {
        var targets: [RuleTarget] = []
        var token: String?
        repeat {
            var body: [String: JSONValue] = ["Rule": .string(rule)]
            if let token { body["NextToken"] = .string(token) }
            let answer = try await rpc.call("ListTargetsByRule", body)
            targets += (answer["Targets"]?.arrayValue ?? []).map(RuleTarget.init(json:))
            token = answer["NextToken"]?.stringValue
            if token?.isEmpty == true { token = nil }
        } while token != nil
        return targets
    }

    /// PutTargets; a partial failure (`FailedEntryCount > 0`) is an error naming each target.
    public func putTargets(rule: String, targets: [RuleTarget]) async throws {
        let answer = try await rpc.call("PutTargets", ["Rule": .string(rule), "Targets": .array(targets.map(\.json))])
        let failed = answer["FailedEntries"]?.arrayValue ?? []
        guard failed.isEmpty, (answer["FailedEntryCount"]?.intValue ?? 0) == 0 else {
            let details = failed.map { entry in
                "\(entry["TargetId"]?.stringValue ?? "?"): \(entry["ErrorCode"]?.stringValue ?? "?") \(entry["ErrorMessage"]?.stringValue ?? "")"
            }
            let code = failed.first?["ErrorCode"]?.stringValue ?? "PutTargetsFailed"
            throw CloudError(code: code, message: "events:PutTargets on rule \(rule): \(details.joined(separator: "; "))",
                             httpStatus: 200)
        }
    }
}
