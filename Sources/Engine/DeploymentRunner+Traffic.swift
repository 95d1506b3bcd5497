import CloudModel
import Foundation

/// Finding the listeners and rules that carry a service's traffic, and moving it.
extension DeploymentRunner {
    struct DiscoveredTraffic {
        let targets: [String]
        let newTargetGroup: String
    }

    /// From the service's target group to its load balancers, their listeners and rules, and
    /// the second target group (named in the same forward action, or `canary_target_group`).
    func discoverTraffic(service: ECSService, facts: DeploymentFacts) async throws -> DiscoveredTraffic {
        guard let old = facts.previousTargetGroup else {
            throw StageError("listener ARN not found: service \(service.serviceName) has no load balancer target group")
        }
        let groups = try await cloud.elb.describeTargetGroups(arns: [old])
        guard let group = groups.first, !group.loadBalancerArns.isEmpty else {
            throw StageError("listener ARN not found: target group \(old.arnResource) is not attached to a load balancer")
        }
        var routes: [TrafficRoute] = []
        for lb in group.loadBalancerArns {
            for listener in try await cloud.elb.describeListeners(loadBalancerArn: lb) {
                let route = TrafficRoute(arn: listener.listenerArn, isRule: false, actions: listener.defaultActions)
                if route.weights[old] != nil { routes.append(route) }
                for rule in try await cloud.elb.describeRules(listenerArn: listener.listenerArn) where !rule.isDefault {
                    let r = TrafficRoute(arn: rule.ruleArn, isRule: true, actions: rule.actions)
                    if r.weights[old] != nil { routes.append(r) }
                }
            }
        }
        guard !routes.isEmpty else {
            throw StageError("listener ARN not found: no listener or rule of \(group.loadBalancerArns.map(\.arnResource).joined(separator: ", ")) forwards to target group \(old.arnResource)")
        }
        let candidate = settings.canaryTargetGroup
            ?? routes.lazy.flatMap { $0.weights.keys.sorted() }.first { $0 != old }
        guard let new = candidate else {
            throw StageError("no second target group: add one to the forward action of \(routes[0].arn.arnResource) (weight 0) or set canary_target_group")
        }
        if settings.canaryTargetGroup != nil {
            // DescribeTargetGroups answers TargetGroupNotFound (or ValidationError for
            // something that is not a target group ARN) rather than an empty list.
            let found: [TargetGroup]
            do {
                found = try await cloud.elb.describeTargetGroups(arns: [new])
            } catch let error as CloudError where error.code == CloudError.targetGroupNotFound || error.code == "ValidationError" {
                throw StageError("canary_target_group \(new) not found (\(error.code): \(error.message))")
            }
            guard !found.isEmpty else { throw StageError("canary_target_group \(new) not found") }
        }
        return DiscoveredTraffic(targets: routes.map(\.arn), newTargetGroup: new)
    }

    /// The current actions of each listener or rule in `arns`.
    func readWeights(_ arns: [String]) async throws -> [TrafficRoute] {
        var listenersByLB: [String: [Listener]] = [:]
        var out: [TrafficRoute] = []
        for arn in arns {
            if arn.contains(":listener-rule/") {
                let listenerArn = Self.listenerArn(ofRule: arn)
                guard let rule = try await cloud.elb.describeRules(listenerArn: listenerArn).first(where: { $0.ruleArn == arn }) else {
                    throw CloudError(code: CloudError.ruleNotFound, message: "rule \(arn) not found")
                }
                out.append(TrafficRoute(arn: arn, isRule: true, actions: rule.actions))
            } else {
                let lb = Self.loadBalancerArn(ofListener: arn)
                if listenersByLB[lb] == nil { listenersByLB[lb] = try await cloud.elb.describeListeners(loadBalancerArn: lb) }
                guard let listener = listenersByLB[lb]?.first(where: { $0.listenerArn == arn }) else {
                    throw CloudError(code: CloudError.listenerNotFound, message: "listener \(arn) not found")
                }
                out.append(TrafficRoute(arn: arn, isRule: false, actions: listener.defaultActions))
            }
        }
        return out
    }

    /// Sets the weights on every route, then reads them back until all show them.
    func routeTraffic(_ c: StageContext, percent: Int) async throws -> StageResult {
        let facts = try await facts(c.id)
        guard let old = facts.previousTargetGroup, let new = facts.newTargetGroup else {
            throw StageError("no target groups recorded to route traffic between")
        }
        let current = try await readWeights(facts.trafficTargets)
        // Traffic moves only to a target group that has healthy targets to take it.
        for (group, share) in [(new, percent), (old, 100 - percent)] where current.contains(where: { $0.share(of: group) < share }) {
            let healthy = try await cloud.elb.describeTargetHealth(targetGroupArn: group).filter { $0.state == "healthy" }.count
            guard healthy > 0 else {
                throw StageError("refusing to send \(share)% of the traffic to target group \(group.arnResource): it has no healthy targets")
            }
        }
        for route in current where !route.matches(percent: percent, old: old, new: new) {
            let actions = route.actions(routing: percent, old: old, new: new)
            if route.isRule {
                _ = try await cloud.elb.modifyRule(ruleArn: route.arn, actions: actions)
            } else {
                _ = try await cloud.elb.modifyListener(listenerArn: route.arn, defaultActions: actions)
            }
        }
        var attempts = 0
        while true {
            let routes = try await readWeights(facts.trafficTargets)
            if routes.allSatisfy({ $0.matches(percent: percent, old: old, new: new) }) { break }
            attempts += 1
            if attempts >= 5 {
                let shown = routes.map { "\($0.arn.arnResource): \($0.share(of: new))%" }.joined(separator: ", ")
                throw StageError("the load balancer does not show the requested weights (\(percent)% new) after \(attempts) reads: \(shown)")
            }
            try await pollPause(until: c.deadline, waitingFor: "the listener weights to show \(percent)%")
        }
        return StageResult("\(percent)% of the traffic on the new task set, \(100 - percent)% on the previous one",
                           learned: "\(percent)% of the traffic on \(new.arnResource)") { $0.trafficPercent = percent }
    }

    /// arn:...:listener-rule/app/lb/1/l/r -> arn:...:listener/app/lb/1/l
    static func listenerArn(ofRule arn: String) -> String {
        let replaced = arn.replacingOccurrences(of: ":listener-rule/", with: ":listener/")
        return replaced.split(separator: "/").dropLast().joined(separator: "/")
    }

    /// arn:...:listener/app/lb/1/l -> arn:...:loadbalancer/app/lb/1
    static func loadBalancerArn(ofListener arn: String) -> String {
        let replaced = arn.replacingOccurrences(of: ":listener/", with: ":loadbalancer/")
        return replaced.split(separator: "/").dropLast().joined(separator: "/")
    }
}
