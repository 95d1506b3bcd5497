import AWSAuth
import CloudModel
import Foundation

/// Elastic Load Balancing v2 over the Query protocol.
public struct ELBClient: ELBAPI {
    let rpc: QueryProtocol

    public init(transport: AWSTransport, environment: AWSEnvironment) {
        rpc = QueryProtocol(transport: transport, service: .elasticLoadBalancingV2, environment: environment)
    }

    /// Calls a paginated Describe action and gathers the `member`s of `listName` from every page.
    private func pages(_ action: String, _ parameters: QueryParameters, listName: String) async throws -> [XMLTree] {
        var members: [XMLTree] = []
        var marker: String?
        repeat {
            var page = parameters
            page.addOptional("Marker", marker)
            let result = try await rpc.call(action, page)
            members += result.members(listName)
            marker = result.string("NextMarker")
            if marker?.isEmpty == true { marker = nil }
        } while marker != nil
        return members
    }

    /// The given target groups; with no ARNs, every target group.
    public func describeTargetGroups(arns: [String]) async throws -> [TargetGroup] {
        var p = QueryParameters()
        if !arns.isEmpty { p.addList("TargetGroupArns", arns) }
        let decode = ELBDecoding(call: "elasticloadbalancing:DescribeTargetGroups")
        return try await pages("DescribeTargetGroups", p, listName: "TargetGroups").map(decode.targetGroup)
    }

    /// The given load balancers; with no ARNs, every load balancer.
    public func describeLoadBalancers(arns: [String]) async throws -> [LoadBalancer] {
        var p = QueryParameters()
        if !arns.isEmpty { p.addList("LoadBalancerArns", arns) }
        let decode = ELBDecoding(call: "elasticloadbalancing:DescribeLoadBalancers")
        return try await pages("DescribeLoadBalancers", p, listName: "LoadBalancers").map(decode.loadBalancer)
    }

    public func describeListeners(loadBalancerArn: String) async throws -> [Listener] {
        var p = QueryParameters()
        p.add("LoadBalancerArn", loadBalancerArn)
        let decode = ELBDecoding(call: "elasticloadbalancing:DescribeListeners")
        return try await pages("DescribeListeners", p, listName: "Listeners").map(decode.listener)
    }

    public func describeRules(listenerArn: String) async throws -> [ListenerRule] {
        var p = QueryParameters()
        p.add("ListenerArn", listenerArn)
        let decode = ELBDecoding(call: "elasticloadbalancing:DescribeRules")
        return try await pages("DescribeRules", p, listName: "Rules").map { try decode.rule($0, listenerArn: listenerArn) }
    }

    public func modifyListener(listenerArn: String, defaultActions: [ListenerAction]) async throws -> Listener {
        var p = QueryParameters()
        p.add("ListenerArn", listenerArn)
        for (i, action) in defaultActions.enumerated() {
            ELBDecoding.add(action, to: &p, prefix: "DefaultActions.member.\(i + 1)")
        }
        let result = try await rpc.call("ModifyListener", p)
        let decode = ELBDecoding(call: "elasticloadbalancing:ModifyListener")
        guard let listener = result.members("Listeners").first else { throw decode.read.missing("Listeners[0]") }
        return try decode.listener(listener)
    }

    public func modifyRule(ruleArn: String, actions: [ListenerAction]) async throws -> ListenerRule {
        var p = QueryParameters()
        p.add("RuleArn", ruleArn)
        for (i, action) in actions.enumerated() {
            ELBDecoding.add(action, to: &p, prefix: "Actions.member.\(i + 1)")
        }
        let result = try await rpc.call("ModifyRule", p)
        let decode = ELBDecoding(call: "elasticloadbalancing:ModifyRule")
        guard let rule = result.members("Rules").first else { throw decode.read.missing("Rules[0]") }
        return try decode.rule(rule, listenerArn: nil)
    }

    public func describeTargetHealth(targetGroupArn: String) async throws -> [TargetHealth] {
        var p = QueryParameters()
        p.add("TargetGroupArn", targetGroupArn)
        let result = try await rpc.call("DescribeTargetHealth", p)
        let decode = ELBDecoding(call: "elasticloadbalancing:DescribeTargetHealth")
        return try result.members("TargetHealthDescriptions").map(decode.targetHealth)
    }
}
