import CloudModel
import Foundation

/// Where a service's traffic is routed: the listeners and rules whose forward actions point
/// at its target groups, and what they send each target group.
struct TrafficRoute: Sendable, Equatable {
    /// Listener or rule ARN.
    let arn: String
    let isRule: Bool
    let actions: [ListenerAction]

    /// Weight by target group, over every forward action of the route.
    var weights: [String: Int] {
        var out: [String: Int] = [:]
        for action in actions where action.type == "forward" {
            for group in action.weights { out[group.targetGroupArn, default: 0] += group.weight }
        }
        return out
    }

    /// Percent of the route's traffic that goes to `targetGroup`.
    func share(of targetGroup: String) -> Int {
        let total = weights.values.reduce(0, +)
        guard total > 0 else { return 0 }
        return Int((Double(weights[targetGroup] ?? 0) / Double(total) * 100).rounded())
    }

    /// The actions with the weights of `old` and `new` set to `100 - percent` and `percent`;
    /// other target groups and other actions are kept as they are.
    func actions(routing percent: Int, old: String, new: String) -> [ListenerAction] {
        actions.map { action in
            guard action.type == "forward", action.weights.contains(where: { $0.targetGroupArn == old || $0.targetGroupArn == new }) else {
                return action
            }
            let others = action.weights.filter { $0.targetGroupArn != old && $0.targetGroupArn != new }
            var updated = action
            updated.targetGroupArn = nil
            updated.targetGroups = [WeightedTargetGroup(targetGroupArn: old, weight: 100 - percent),
                                    WeightedTargetGroup(targetGroupArn: new, weight: percent)] + others
            return updated
        }
    }

    func matches(percent: Int, old: String, new: String) -> Bool {
        let w = weights
        return (w[old] ?? 0) == 100 - percent && (w[new] ?? 0) == percent
    }
}
