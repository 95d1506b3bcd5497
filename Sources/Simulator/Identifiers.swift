import Foundation

/// The account and region every simulated ARN lives in.
public enum SimulatedAccount {
    public static let id = "123456789012"
    public static let region = "us-east-1"
}

/// A deterministic generator (SplitMix64) for ids that look random: the same seed and the same
/// calls give the same task ids, deployment ids and ARNs.
struct IdentifierGenerator: Codable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` lowercase hex digits.
    mutating func hex(_ count: Int) -> String {
        var text = ""
        while text.count < count {
            let part = String(next(), radix: 16)
            text += String(repeating: "0", count: 16 - part.count) + part
        }
        return String(text.prefix(count))
    }

    /// `count` decimal digits, the first not zero.
    mutating func digits(_ count: Int) -> String {
        var text = String(next() % 9 + 1)
        while text.count < count { text += String(next() % 10) }
        return text
    }

    /// An ECS deployment or task set id: `ecs-svc/` and 19 digits.
    mutating func deploymentID() -> String { "ecs-svc/" + digits(19) }
}

/// ARNs in AWS's formats.
enum ARN {
    private static let ecs = "arn:aws:ecs:\(SimulatedAccount.region):\(SimulatedAccount.id):"
    private static let elb = "arn:aws:elasticloadbalancing:\(SimulatedAccount.region):\(SimulatedAccount.id):"

    static func cluster(_ name: String) -> String { ecs + "cluster/\(name)" }
    static func service(cluster: String, name: String) -> String { ecs + "service/\(cluster)/\(name)" }
    static func task(cluster: String, id: String) -> String { ecs + "task/\(cluster)/\(id)" }
    static func taskDefinition(family: String, revision: Int) -> String { ecs + "task-definition/\(family):\(revision)" }
    static func taskSet(cluster: String, service: String, id: String) -> String {
        ecs + "task-set/\(cluster)/\(service)/\(id)"
    }
    static func serviceDeployment(cluster: String, service: String, id: String) -> String {
        ecs + "service-deployment/\(cluster)/\(service)/\(id)"
    }
    static func serviceRevision(cluster: String, service: String, id: String) -> String {
        ecs + "service-revision/\(cluster)/\(service)/\(id)"
    }
    static func loadBalancer(name: String, suffix: String) -> String { elb + "loadbalancer/app/\(name)/\(suffix)" }
    static func targetGroup(name: String, suffix: String) -> String { elb + "targetgroup/\(name)/\(suffix)" }
    static func listener(loadBalancerArn: String, suffix: String) -> String {
        loadBalancerArn.replacingOccurrences(of: ":loadbalancer/", with: ":listener/") + "/" + suffix
    }
    static func rule(listenerArn: String, suffix: String) -> String {
        listenerArn.replacingOccurrences(of: ":listener/", with: ":listener-rule/") + "/" + suffix
    }
    static func eventRule(_ name: String) -> String {
        "arn:aws:events:\(SimulatedAccount.region):\(SimulatedAccount.id):rule/\(name)"
    }
}
