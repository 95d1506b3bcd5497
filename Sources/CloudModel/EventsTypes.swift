import Foundation

public struct EventRule: Sendable, Equatable, Codable {
    public var name: String
    public var arn: String
    public var scheduleExpression: String?
    /// ENABLED or DISABLED.
    public var state: String
    public init(name: String, arn: String, scheduleExpression: String? = nil, state: String = "ENABLED") {
        self.name = name
        self.arn = arn
        self.scheduleExpression = scheduleExpression
        self.state = state
    }
}

/// An EventBridge rule target, kept raw so that PutTargets writes back every field it had.
public struct RuleTarget: Sendable, Equatable, Codable {
    public var json: JSONValue
    public init(json: JSONValue) { self.json = json }
    /// Encoded as the target's own JSON.
    public init(from decoder: any Decoder) throws { json = try JSONValue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    public var id: String? { json["Id"]?.stringValue }
    public var arn: String? { json["Arn"]?.stringValue }
    /// The task definition an ECS target runs.
    public var taskDefinitionArn: String? { json["EcsParameters"]?["TaskDefinitionArn"]?.stringValue }

    public func withTaskDefinition(_ arn: String) -> RuleTarget {
        var copy = self
        var ecs = json["EcsParameters"] ?? .object([:])
        ecs["TaskDefinitionArn"] = .string(arn)
        copy.json["EcsParameters"] = ecs
        return copy
    }
}

public struct CallerIdentity: Sendable, Equatable, Codable {
    public var account: String
    public var arn: String
    public var userId: String
    public init(account: String, arn: String, userId: String) {
        self.account = account
        self.arn = arn
        self.userId = userId
    }
}
