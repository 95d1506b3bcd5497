import CloudModel
import Foundation

/// Elastic Load Balancing v2: load balancers, target groups, listeners, rules, the targets
/// that tasks register, and the traffic check.
extension SimulatorState {
    // MARK: seeding

    mutating func createLoadBalancer(name: String) -> LoadBalancer {
        let arn = ARN.loadBalancer(name: name, suffix: ids.hex(16))
        let balancer = LoadBalancer(loadBalancerArn: arn, loadBalancerName: name,
                                    dnsName: "\(name)-\(ids.digits(10)).\(SimulatedAccount.region).elb.amazonaws.com")
        loadBalancers[arn] = balancer
        loadBalancerOrder.append(arn)
        return balancer
    }

    mutating func createTargetGroup(name: String, loadBalancerArn: String?, port: Int?, protocolName: String?) throws -> TargetGroup {
        if let loadBalancerArn, loadBalancers[loadBalancerArn] == nil { throw Self.loadBalancerNotFound }
        let group = TargetGroup(targetGroupArn: ARN.targetGroup(name: name, suffix: ids.hex(16)), targetGroupName: name,
                                loadBalancerArns: loadBalancerArn.map { [$0] } ?? [], port: port, protocolName: protocolName)
        targetGroups[group.targetGroupArn] = group
        targetGroupOrder.append(group.targetGroupArn)
        return group
    }

    mutating func createListener(loadBalancerArn: String, port: Int?, protocolName: String?,
                                 defaultActions: [ListenerAction]) throws -> Listener {
        guard loadBalancers[loadBalancerArn] != nil else { throw Self.loadBalancerNotFound }
        try validate(defaultActions)
        let arn = ARN.listener(loadBalancerArn: loadBalancerArn, suffix: ids.hex(16))
        let listener = Listener(listenerArn: arn, loadBalancerArn: loadBalancerArn, port: port, protocolName: protocolName,
                                defaultActions: defaultActions)
        listeners[arn] = ListenerRecord(listener: listener, defaultRuleArn: ARN.rule(listenerArn: arn, suffix: ids.hex(16)))
        listenerOrder.append(arn)
        attach(defaultActions, to: loadBalancerArn)
        return listener
    }

    mutating func createRule(listenerArn: String, priority: Int, conditions: JSONValue,
                             actions: [ListenerAction]) throws -> ListenerRule {
        guard let record = listeners[listenerArn] else { throw Self.listenerNotFound }
        try validate(actions)
        let rule = ListenerRule(ruleArn: ARN.rule(listenerArn: listenerArn, suffix: ids.hex(16)), listenerArn: listenerArn,
                                priority: String(priority), isDefault: false, conditions: conditions, actions: actions)
        rules[rule.ruleArn] = rule
        listeners[listenerArn]?.ruleArns.append(rule.ruleArn)
        attach(actions, to: record.listener.loadBalancerArn)
        return rule
    }

    // MARK: reads

    func describeTargetGroups(arns: [String]) throws -> [TargetGroup] {
        if arns.isEmpty { return targetGroupOrder.compactMap { targetGroups[$0] } }
        return try arns.map { arn in
            guard let group = targetGroups[arn] else { throw Self.targetGroupNotFound }
            return group
        }
    }

    func describeLoadBalancers(arns: [String]) throws -> [LoadBalancer] {
        if arns.isEmpty { return loadBalancerOrder.compactMap { loadBalancers[$0] } }
        return try arns.map { arn in
            guard let balancer = loadBalancers[arn] else { throw Self.loadBalancerNotFound }
            return balancer
        }
    }

    /// As a read at `now` sees them: a change made less than `listenerLag` ago not yet.
    func describeListeners(loadBalancerArn: String, now: Date) throws -> [Listener] {
        guard loadBalancers[loadBalancerArn] != nil else { throw Self.loadBalancerNotFound }
        return listenerOrder.compactMap { listeners[$0] }.filter { $0.listener.loadBalancerArn == loadBalancerArn }.map { record in
            var shown = record.listener
            shown.defaultActions = StaleActions.shown(shown.defaultActions, record.stale, at: now)
            return shown
        }
    }

    /// The listener's rules by priority, then its default rule (whose actions are the
    /// listener's default actions), as a read at `now` sees them.
    func describeRules(listenerArn: String, now: Date) throws -> [ListenerRule] {
        guard let record = listeners[listenerArn] else { throw Self.listenerNotFound }
        let custom = record.ruleArns.compactMap { rules[$0] }.sorted { (Int($0.priority) ?? 0) < (Int($1.priority) ?? 0) }.map { rule in
            var shown = rule
            shown.actions = StaleActions.shown(rule.actions, staleRules[rule.ruleArn], at: now)
            return shown
        }
        let fallback = ListenerRule(ruleArn: record.defaultRuleArn, listenerArn: listenerArn, priority: "default",
                                    isDefault: true, actions: StaleActions.shown(record.listener.defaultActions, record.stale, at: now))
        return custom + [fallback]
    }

    /// Targets the tasks registered in the group, in launch order.
    mutating func describeTargetHealth(targetGroupArn: String, now: Date) throws -> [TargetHealth] {
        guard targetGroups[targetGroupArn] != nil else { throw Self.targetGroupNotFound }
        var health: [TargetHealth] = []
        for key in (targetGroupServices[targetGroupArn] ?? []).sorted() {
            guard let svc = services[key] else { continue }
            advance(svc, to: now)
            for task in svc.tasks {
                guard let ref = task.targets.first(where: { $0.targetGroupArn == targetGroupArn }),
                      let state = task.targetState(at: now) else { continue }
                health.append(TargetHealth(targetId: task.privateIP, port: ref.containerPort ?? targetGroups[targetGroupArn]?.port,
                                           state: state.state, reason: state.reason))
            }
        }
        return health
    }

    // MARK: changes

    mutating func modifyListener(listenerArn: String, defaultActions: [ListenerAction], now: Date) throws -> Listener {
        guard var record = listeners[listenerArn] else { throw Self.listenerNotFound }
        try validate(defaultActions)
        record.stale = StaleActions.after(change: record.listener.defaultActions, record.stale, at: now, lag: settings.listenerLag)
        record.listener.defaultActions = defaultActions
        listeners[listenerArn] = record
        attach(defaultActions, to: record.listener.loadBalancerArn)
        weightChanges.append(WeightChange(time: now, resourceArn: listenerArn, weights: defaultActions.forwardWeights))
        checkTraffic(now: now, after: "ModifyListener \(listenerArn)")
        return record.listener
    }

    mutating func modifyRule(ruleArn: String, actions: [ListenerAction], now: Date) throws -> ListenerRule {
        if let listener = listeners.values.first(where: { $0.defaultRuleArn == ruleArn }) {
            throw CloudError(code: "OperationNotPermitted",
                             message: "Default rule '\(listener.listener.listenerArn)' cannot be modified")
        }
        guard var rule = rules[ruleArn] else {
            throw CloudError(code: CloudError.ruleNotFound, message: "One or more rules not found")
        }
        try validate(actions)
        staleRules[ruleArn] = StaleActions.after(change: rule.actions, staleRules[ruleArn], at: now, lag: settings.listenerLag)
        rule.actions = actions
        rules[ruleArn] = rule
        if let balancer = listeners[rule.listenerArn]?.listener.loadBalancerArn { attach(actions, to: balancer) }
        weightChanges.append(WeightChange(time: now, resourceArn: ruleArn, weights: actions.forwardWeights))
        checkTraffic(now: now, after: "ModifyRule \(ruleArn)")
        return rule
    }

    /// Appends to `trafficViolations` every target group that receives traffic (weight > 0 in a
    /// forward action of some listener or rule) while nothing live serves it.
    mutating func checkTraffic(now: Date, after event: String) {
        // Every service behind a route first played up to now: ECS moves the traffic of its own
        // blue/green, linear and canary while a service's timeline is played.
        for key in Set(targetGroupServices.values.joined()).sorted() {
            if let svc = services[key] { advance(svc, to: now) }
        }
        var routes: [(resource: String, actions: [ListenerAction])] = []
        for arn in listenerOrder {
            guard let record = listeners[arn] else { continue }
            routes.append((arn, record.listener.defaultActions))
            routes += record.ruleArns.compactMap { rules[$0].map { ($0.ruleArn, $0.actions) } }
        }
        for route in routes {
            for action in route.actions where action.type == "forward" {
                for weighted in action.weights where weighted.weight > 0 && !isServed(weighted.targetGroupArn, now: now) {
                    trafficViolations.append(
                        "\(now.ISO8601Format()) after \(event): target group \(weighted.targetGroupArn) has weight "
                            + "\(weighted.weight) in \(route.resource) but no live task set or task behind it")
                }
            }
        }
    }

    private mutating func isServed(_ targetGroupArn: String, now: Date) -> Bool {
        for key in targetGroupServices[targetGroupArn] ?? [] {
            guard let svc = services[key] else { continue }
            advance(svc, to: now)
            if svc.serves(targetGroup: targetGroupArn) { return true }
        }
        return false
    }

    // MARK: helpers

    /// Weights 0...999 on target groups that exist, as ELB requires.
    private func validate(_ actions: [ListenerAction]) throws {
        for action in actions where action.type == "forward" {
            if action.targetGroupArn == nil, (action.targetGroups ?? []).isEmpty {
                throw CloudError(code: "ValidationError", message: "A forward action must have a target group.")
            }
            for weighted in action.weights {
                guard targetGroups[weighted.targetGroupArn] != nil else { throw Self.targetGroupNotFound }
                guard (0...999).contains(weighted.weight) else {
                    throw CloudError(code: "ValidationError",
                                     message: "Target group weight must be between 0 and 999, got \(weighted.weight).")
                }
            }
        }
    }

    /// A target group that a listener of a load balancer forwards to belongs to it.
    private mutating func attach(_ actions: [ListenerAction], to loadBalancerArn: String) {
        for weighted in actions.flatMap(\.weights) where targetGroups[weighted.targetGroupArn] != nil {
            if !targetGroups[weighted.targetGroupArn]!.loadBalancerArns.contains(loadBalancerArn) {
                targetGroups[weighted.targetGroupArn]!.loadBalancerArns.append(loadBalancerArn)
            }
        }
    }

    static var targetGroupNotFound: CloudError {
        CloudError(code: CloudError.targetGroupNotFound, message: "One or more target groups not found")
    }
    static var listenerNotFound: CloudError {
        CloudError(code: CloudError.listenerNotFound, message: "One or more listeners not found")
    }
    static var loadBalancerNotFound: CloudError {
        CloudError(code: "LoadBalancerNotFound", message: "One or more load balancers not found")
    }
}

extension [ListenerAction] {
    var forwardWeights: [WeightedTargetGroup] { filter { $0.type == "forward" }.flatMap(\.weights) }
}
