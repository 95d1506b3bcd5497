import CloudModel
import Foundation

/// The other end of `ELBClient`: ELBv2's Query requests (form fields) answered by any `ELBAPI`
/// (the simulator, for `grpc-server simulate`), as AWS's XML. Listener and rule actions are
/// `forward` actions (one target group, or weighted ones): another type is refused, naming it.
public struct ELBWire: Sendable {
    public static let operations: Set<String> = [
        "DescribeTargetGroups", "DescribeLoadBalancers", "DescribeListeners", "DescribeRules", "ModifyListener", "ModifyRule",
        "DescribeTargetHealth",
    ]
    public static let namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"

    let elb: any ELBAPI

    public init(elb: any ELBAPI) { self.elb = elb }

    /// Answers one call with its whole XML document. Throws `CloudError` (AWS's code and
    /// message) for a bad input or what the cloud refused.
    public func call(_ action: String, _ form: [String: String]) async throws -> String {
        let read = QueryForm(service: "elasticloadbalancing", action: action, fields: form, invalidCode: "ValidationError")
        let result: [XML]
        switch action {
        case "DescribeTargetGroups":
            result = [.node("TargetGroups", try await elb.describeTargetGroups(arns: read.list("TargetGroupArns")).map(Self.xml))]
        case "DescribeLoadBalancers":
            result = [.node("LoadBalancers", try await elb.describeLoadBalancers(arns: read.list("LoadBalancerArns")).map(Self.xml))]
        case "DescribeListeners":
            result = [.node("Listeners", try await elb.describeListeners(loadBalancerArn: try read.string("LoadBalancerArn")).map(Self.xml))]
        case "DescribeRules":
            result = [.node("Rules", try await elb.describeRules(listenerArn: try read.string("ListenerArn")).map(Self.xml))]
        case "ModifyListener":
            let listener = try await elb.modifyListener(listenerArn: try read.string("ListenerArn"),
                                                        defaultActions: try read.actions("DefaultActions"))
            result = [.node("Listeners", [Self.xml(listener)])]
        case "ModifyRule":
            let rule = try await elb.modifyRule(ruleArn: try read.string("RuleArn"), actions: try read.actions("Actions"))
            result = [.node("Rules", [Self.xml(rule)])]
        case "DescribeTargetHealth":
            let health = try await elb.describeTargetHealth(targetGroupArn: try read.string("TargetGroupArn"))
            result = [.node("TargetHealthDescriptions", health.map(Self.xml))]
        default:
            throw CloudError(code: "InvalidAction", message: "\(action.prefix(100)) is not served by this endpoint")
        }
        return XML.document(action, namespace: Self.namespace, result: result)
    }

    // MARK: Answers (the shapes `ELBDecoding` reads)

    static func xml(_ g: TargetGroup) -> XML {
        .node("member", [.text("TargetGroupArn", g.targetGroupArn), .text("TargetGroupName", g.targetGroupName),
                         .node("LoadBalancerArns", g.loadBalancerArns.map { .text("member", $0) })]
            + [g.port.map { .text("Port", String($0)) }, g.protocolName.map { .text("Protocol", $0) }].compactMap { $0 })
    }

    static func xml(_ b: LoadBalancer) -> XML {
        .node("member", [.text("LoadBalancerArn", b.loadBalancerArn), .text("LoadBalancerName", b.loadBalancerName)]
            + [b.dnsName.map { .text("DNSName", $0) }].compactMap { $0 })
    }

    static func xml(_ l: Listener) -> XML {
        .node("member", [.text("ListenerArn", l.listenerArn), .text("LoadBalancerArn", l.loadBalancerArn),
                         .node("DefaultActions", l.defaultActions.map(xml))]
            + [l.port.map { .text("Port", String($0)) }, l.protocolName.map { .text("Protocol", $0) }].compactMap { $0 })
    }

    static func xml(_ r: ListenerRule) -> XML {
        .node("member", [.text("RuleArn", r.ruleArn), .text("Priority", r.priority), .text("IsDefault", r.isDefault ? "true" : "false"),
                         json("Conditions", r.conditions), .node("Actions", r.actions.map(xml))])
    }

    static func xml(_ h: TargetHealth) -> XML {
        .node("member", [.node("Target", [.text("Id", h.targetId)] + [h.port.map { .text("Port", String($0)) }].compactMap { $0 }),
                         .node("TargetHealth", [.text("State", h.state)] + [h.reason.map { .text("Reason", $0) }].compactMap { $0 })])
    }

    static func xml(_ a: ListenerAction) -> XML {
        var children: [XML] = [.text("Type", a.type)]
        if let order = a.order { children.append(.text("Order", String(order))) }
        if let arn = a.targetGroupArn { children.append(.text("TargetGroupArn", arn)) }
        if let groups = a.targetGroups {
            children.append(.node("ForwardConfig", [.node("TargetGroups", groups.map {
                .node("member", [.text("TargetGroupArn", $0.targetGroupArn), .text("Weight", String($0.weight))])
            })]))
        }
        return .node("member", children)
    }

    /// JSON kept without a schema (a rule's conditions), as `ELBDecoding.json` reads it back:
    /// arrays as `member`s, objects by member name, the rest as text.
    static func json(_ name: String, _ value: JSONValue) -> XML {
        switch value {
        case .array(let items): .node(name, items.map { json("member", $0) })
        case .object(let fields): .node(name, fields.keys.sorted().map { json($0, fields[$0]!) })
        case .string(let s): .text(name, s)
        case .number(let n): .text(name, n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n))
        case .bool(let b): .text(name, b ? "true" : "false")
        case .null: .node(name, [])
        }
    }
}

/// A small XML writer for Query answers.
public indirect enum XML: Sendable {
    case node(String, [XML])
    case text(String, String)

    var rendered: String {
        switch self {
        case .node(let name, let children): "<\(name)>" + children.map(\.rendered).joined() + "</\(name)>"
        case .text(let name, let text): "<\(name)>\(Self.escaped(text))</\(name)>"
        }
    }

    /// `<ActionResponse xmlns=...><ActionResult>...</ActionResult><ResponseMetadata>...`.
    public static func document(_ action: String, namespace: String, result: [XML]) -> String {
        "<\(action)Response xmlns=\"\(namespace)\">" + XML.node("\(action)Result", result).rendered
            + "<ResponseMetadata><RequestId>\(UUID().uuidString)</RequestId></ResponseMetadata></\(action)Response>"
    }

    /// An error document as Query services answer one.
    public static func error(code: String, message: String, namespace: String) -> String {
        "<ErrorResponse xmlns=\"\(namespace)\">" + XML.node("Error", [.text("Type", "Sender"), .text("Code", code), .text("Message", message)]).rendered
            + "<RequestId>\(UUID().uuidString)</RequestId></ErrorResponse>"
    }

    public static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// ELBv2's listener and rule actions in a form.
extension QueryForm {
    func actions(_ key: String) throws -> [ListenerAction] {
        var actions: [ListenerAction] = []
        while case let prefix = "\(key).member.\(actions.count + 1)", let type = fields["\(prefix).Type"] {
            guard type == "forward" else { throw invalid("\(prefix).Type", "only forward actions are served, not \(type.prefix(40))") }
            var action = ListenerAction(type: type, order: fields["\(prefix).Order"].flatMap { Int($0) },
                                        targetGroupArn: fields["\(prefix).TargetGroupArn"])
            var groups: [WeightedTargetGroup] = []
            while let arn = fields["\(prefix).ForwardConfig.TargetGroups.member.\(groups.count + 1).TargetGroupArn"] {
                let weightKey = "\(prefix).ForwardConfig.TargetGroups.member.\(groups.count + 1).Weight"
                guard let weight = Int(fields[weightKey] ?? "1"), (0...999).contains(weight) else {
                    throw invalid(weightKey, "a weight from 0 to 999")
                }
                groups.append(WeightedTargetGroup(targetGroupArn: arn, weight: weight))
            }
            if !groups.isEmpty { action.targetGroups = groups }
            guard action.targetGroupArn != nil || !groups.isEmpty else { throw invalid("\(prefix).TargetGroupArn") }
            actions.append(action)
        }
        guard !actions.isEmpty else { throw invalid("\(key).member.1.Type") }
        return actions
    }
}
