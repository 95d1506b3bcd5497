import Foundation

/// An ECS task definition, kept as raw JSON so that every field survives, known or not.
public struct TaskDefinition: Sendable, Equatable {
    public var json: JSONValue

    public init(json: JSONValue) { self.json = json }
}

/// Encoded as the task definition's own JSON.
extension TaskDefinition: Codable {
    public init(from decoder: any Decoder) throws { json = try JSONValue(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }
}

extension TaskDefinition {

    /// Fields that AWS sets and that RegisterTaskDefinition does not accept.
    public static let readOnlyFields: Set<String> = [
        "taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
        "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt",
    ]

    public var family: String? { json["family"]?.stringValue }
    public var revision: Int? { json["revision"]?.intValue }
    public var arn: String? { json["taskDefinitionArn"]?.stringValue }
    public var containers: [JSONValue] { json["containerDefinitions"]?.arrayValue ?? [] }

    /// `family:revision`, or the family alone for an unregistered definition.
    public var familyRevision: String {
        guard let family else { return "?" }
        if let revision { return "\(family):\(revision)" }
        return family
    }

    /// Images by container name, in container order.
    public var images: [(container: String, image: String)] {
        containers.compactMap { c in
            guard let name = c["name"]?.stringValue, let image = c["image"]?.stringValue else { return nil }
            return (name, image)
        }
    }

    /// The input for RegisterTaskDefinition: every field but the read-only ones.
    public func registrationInput() -> TaskDefinition {
        guard case .object(var fields) = json else { return self }
        for key in Self.readOnlyFields { fields.removeValue(forKey: key) }
        return TaskDefinition(json: .object(fields))
    }

    /// A copy whose named container (or, with nil, every container) runs `image`.
    public func withImage(_ image: String, container: String? = nil) -> TaskDefinition {
        var copy = self
        let updated = containers.map { c -> JSONValue in
            var c = c
            if container == nil || c["name"]?.stringValue == container { c["image"] = .string(image) }
            return c
        }
        copy.json["containerDefinitions"] = .array(updated)
        return copy
    }
}

extension String {
    /// The resource part of an ARN (`arn:aws:elasticloadbalancing:r:a:targetgroup/web/12ab` ->
    /// `targetgroup/web/12ab`), or the string: readable names for load balancer resources.
    public var arnResource: String {
        guard hasPrefix("arn:") else { return self }
        let parts = split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count == 6 ? String(parts[5]) : self
    }

    /// The last path component of an ARN (`arn:...:cluster/prod` -> `prod`), or the string.
    public var arnResourceName: String {
        guard hasPrefix("arn:") else { return self }
        guard let slash = lastIndex(of: "/") else { return self }
        let name = self[index(after: slash)...]
        return name.isEmpty ? self : String(name)
    }
}
