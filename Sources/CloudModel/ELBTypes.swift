import Foundation

public struct TargetGroup: Sendable, Equatable, Codable {
    public var targetGroupArn: String
    public var targetGroupName: String
    public var loadBalancerArns: [String]
    public var port: Int?
    public var protocolName: String?
    public init(targetGroupArn: String, targetGroupName: String, loadBalancerArns: [String] = [], port: Int? = nil,
                protocolName: String? = nil) {
        self.targetGroupArn = targetGroupArn
        self.targetGroupName = targetGroupName
        self.loadBalancerArns = loadBalancerArns
        self.port = port
        self.protocolName = protocolName
    }
}

public struct LoadBalancer: Sendable, Equatable, Codable {
    public var loadBalancerArn: String
    public var loadBalancerName: String
    public var dnsName: String?
    public init(loadBalancerArn: String, loadBalancerName: String, dnsName: String? = nil) {
        self.loadBalancerArn = loadBalancerArn
        self.loadBalancerName = loadBalancerName
        self.dnsName = dnsName
    }
}

public struct WeightedTargetGroup: Sendable, Equatable, Codable {
    public var targetGroupArn: String
    public var weight: Int
    public init(targetGroupArn: String, weight: Int) {
        self.targetGroupArn = targetGroupArn
        self.weight = weight
    }
}

/// A listener or rule action. Only `forward` actions carry traffic weights; other actions
/// (redirect, fixed-response, authenticate) are kept as they are.
public struct ListenerAction: Sendable, Equatable, Codable {
    public var type: String
    public var order: Int?
    /// Single target group form of a forward action.
    public var targetGroupArn: String?
    /// Weighted form of a forward action.
    public var targetGroups: [WeightedTargetGroup]?
    /// Any other fields of the action, kept raw.
    public var extra: JSONValue?

    public init(type: String, order: Int? = nil, targetGroupArn: String? = nil, targetGroups: [WeightedTargetGroup]? = nil,
                extra: JSONValue? = nil) {
        self.type = type
        self.order = order
        self.targetGroupArn = targetGroupArn
        self.targetGroups = targetGroups
        self.extra = extra
    }

    public static func forward(_ groups: [WeightedTargetGroup]) -> ListenerAction {
        ListenerAction(type: "forward", targetGroups: groups)
    }

    /// The weights this action sends traffic with; a single-target forward is 100%.
    public var weights: [WeightedTargetGroup] {
        if let targetGroups { return targetGroups }
        if let targetGroupArn { return [WeightedTargetGroup(targetGroupArn: targetGroupArn, weight: 1)] }
        return []
    }
}

public struct Listener: Sendable, Equatable, Codable {
    public var listenerArn: String
    public var loadBalancerArn: String
    public var port: Int?
    public var protocolName: String?
    public var defaultActions: [ListenerAction]
    public init(listenerArn: String, loadBalancerArn: String, port: Int? = nil, protocolName: String? = nil,
                defaultActions: [ListenerAction]) {
        self.listenerArn = listenerArn
        self.loadBalancerArn = loadBalancerArn
        self.port = port
        self.protocolName = protocolName
        self.defaultActions = defaultActions
    }
}

public struct ListenerRule: Sendable, Equatable, Codable {
    public var ruleArn: String
    public var listenerArn: String
    public var priority: String
    public var isDefault: Bool
    public var conditions: JSONValue
    public var actions: [ListenerAction]
    public init(ruleArn: String, listenerArn: String, priority: String, isDefault: Bool, conditions: JSONValue = .array([]),
                actions: [ListenerAction]) {
        self.ruleArn = ruleArn
        self.listenerArn = listenerArn
        self.priority = priority
        self.isDefault = isDefault
        self.conditions = conditions
        self.actions = actions
    }
}

public struct TargetHealth: Sendable, Equatable, Codable {
    public var targetId: String
    public var port: Int?
    /// initial, healthy, unhealthy, unused, draining, unavailable.
    public var state: String
    public var reason: String?
    public init(targetId: String, port: Int? = nil, state: String, reason: String? = nil) {
        self.targetId = targetId
        self.port = port
        self.state = state
        self.reason = reason
    }
}
