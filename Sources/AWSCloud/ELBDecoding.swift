import CloudModel
import Foundation

/// ELBv2 answers (Query XML) as CloudModel values, and listener actions as Query parameters.
struct ELBDecoding: Sendable {
    let read: ResponseReader

    init(call: String) { read = ResponseReader(call: call) }

    func targetGroup(_ x: XMLTree) throws -> TargetGroup {
        TargetGroup(targetGroupArn: try read.string(x, "TargetGroupArn", in: "TargetGroup"),
                    targetGroupName: try read.string(x, "TargetGroupName", in: "TargetGroup"),
                    loadBalancerArns: x.members("LoadBalancerArns").map { $0.string() ?? "" },
                    port: x.string("Port").flatMap { Int($0) },
                    protocolName: x.string("Protocol"))
    }

    func loadBalancer(_ x: XMLTree) throws -> LoadBalancer {
        LoadBalancer(loadBalancerArn: try read.string(x, "LoadBalancerArn", in: "LoadBalancer"),
                     loadBalancerName: try read.string(x, "LoadBalancerName", in: "LoadBalancer"),
                     dnsName: x.string("DNSName"))
    }

    func listener(_ x: XMLTree) throws -> Listener {
        Listener(listenerArn: try read.string(x, "ListenerArn", in: "Listener"),
                 loadBalancerArn: try read.string(x, "LoadBalancerArn", in: "Listener"),
                 port: x.string("Port").flatMap { Int($0) },
                 protocolName: x.string("Protocol"),
                 defaultActions: try x.members("DefaultActions").map(action))
    }

    /// `listenerArn`: the rule's listener (DescribeRules knows it; ModifyRule derives it).
    func rule(_ x: XMLTree, listenerArn: String?) throws -> ListenerRule {
        let arn = try read.string(x, "RuleArn", in: "Rule")
        return ListenerRule(ruleArn: arn, listenerArn: listenerArn ?? Self.listenerArn(ofRule: arn),
                            priority: try read.string(x, "Priority", in: "Rule"),
                            isDefault: x.string("IsDefault") == "true",
                            conditions: x.child("Conditions").map(Self.json) ?? .array([]),
                            actions: try x.members("Actions").map(action))
    }

    func targetHealth(_ x: XMLTree) throws -> TargetHealth {
        TargetHealth(targetId: try read.string(x.child("Target") ?? XMLTree(name: "Target"), "Id", in: "Target"),
                     port: x.string("Target", "Port").flatMap { Int($0) },
                     state: try read.string(x.child("TargetHealth") ?? XMLTree(name: "TargetHealth"), "State",
                                            in: "TargetHealth"),
                     reason: x.string("TargetHealth", "Reason"))
    }

    /// An action: type, order, target group(s); every other member kept raw in `extra`
    /// (with the forward config's non-weight members under `extra.ForwardConfig`).
    func action(_ x: XMLTree) throws -> ListenerAction {
        var action = ListenerAction(type: try read.string(x, "Type", in: "Action"))
        action.order = x.string("Order").flatMap { Int($0) }
        action.targetGroupArn = x.string("TargetGroupArn")
        var extra: [String: JSONValue] = [:]
        for child in x.children where !["Type", "Order", "TargetGroupArn"].contains(child.name) {
            guard child.name == "ForwardConfig" else {
                extra[child.name] = Self.json(child)
                continue
            }
            if let groups = child.child("TargetGroups") {
                action.targetGroups = try groups.children("member").map { m in
                    WeightedTargetGroup(targetGroupArn: try read.string(m, "TargetGroupArn", in: "ForwardConfig.TargetGroups"),
                                        weight: m.string("Weight").flatMap { Int($0) } ?? 1)
                }
            }
            var rest = child
            rest.children.removeAll { $0.name == "TargetGroups" }
            if !rest.children.isEmpty { extra["ForwardConfig"] = Self.json(rest) }
        }
        if !extra.isEmpty { action.extra = .object(extra) }
        return action
    }

    // MARK: Inputs

    /// Map-typed members of actions (sent as `entry.N.key/value`).
    static let mapMembers: Set<String> = ["AuthenticationRequestExtraParams"]

    static func add(_ action: ListenerAction, to params: inout QueryParameters, prefix: String) {
        params.add("\(prefix).Type", action.type)
        if let order = action.order { params.add("\(prefix).Order", String(order)) }
        let groups = action.targetGroups ?? []
        // AWS accepts TargetGroupArn next to a ForwardConfig only when both name the same single group.
        if let arn = action.targetGroupArn, groups.isEmpty || (groups.count == 1 && groups[0].targetGroupArn == arn) {
            params.add("\(prefix).TargetGroupArn", arn)
        }
        var extra = action.extra?.objectValue ?? [:]
        let forwardRest = extra.removeValue(forKey: "ForwardConfig")
        // DescribeListeners/DescribeRules leave an OIDC action's client secret out; written back
        // without it, Modify* refuses the action unless told to keep the one it has.
        if case .object(var oidc) = extra["AuthenticateOidcConfig"], oidc["ClientSecret"] == nil {
            oidc["UseExistingClientSecret"] = .string("true")
            extra["AuthenticateOidcConfig"] = .object(oidc)
        }
        if !groups.isEmpty {
            for (i, g) in groups.enumerated() {
                params.add("\(prefix).ForwardConfig.TargetGroups.member.\(i + 1).TargetGroupArn", g.targetGroupArn)
                params.add("\(prefix).ForwardConfig.TargetGroups.member.\(i + 1).Weight", String(g.weight))
            }
            if let rest = forwardRest?.objectValue {
                for key in rest.keys.sorted() where key != "TargetGroups" {
                    params.addJSON("\(prefix).ForwardConfig.\(key)", rest[key]!, mapKeys: mapMembers)
                }
            }
        }
        for key in extra.keys.sorted() {
            params.addJSON("\(prefix).\(key)", extra[key]!, mapKeys: mapMembers)
        }
    }

    // MARK: Helpers

    /// `...:listener-rule/app/lb/1/2/3` -> `...:listener/app/lb/1/2`.
    static func listenerArn(ofRule ruleArn: String) -> String {
        guard let range = ruleArn.range(of: ":listener-rule/"), let slash = ruleArn.lastIndex(of: "/") else { return "" }
        return String(ruleArn[..<range.lowerBound]) + ":listener/" + String(ruleArn[range.upperBound..<slash])
    }

    /// An XML element as JSON without a schema: `member` lists become arrays, `entry`
    /// key/value lists objects, other elements objects by child name, leaves strings.
    static func json(_ x: XMLTree) -> JSONValue {
        if x.children.isEmpty { return .string(x.text.trimmingCharacters(in: .whitespacesAndNewlines)) }
        if x.children.allSatisfy({ $0.name == "member" }) { return .array(x.children.map(json)) }
        if x.children.allSatisfy({ $0.name == "entry" && $0.child("key") != nil }) {
            var map: [String: JSONValue] = [:]
            for e in x.children { map[e.string("key") ?? ""] = e.child("value").map(json) ?? .null }
            return .object(map)
        }
        var fields: [String: JSONValue] = [:]
        for c in x.children { fields[c.name] = json(c) }
        return .object(fields)
    }
}
