import CloudModel
import Foundation

public enum StrategyKind: String, Sendable, Codable, CaseIterable {
    case quicksync, canary, bluegreen, rolling, linear

    /// Canary, blue-green and linear move traffic between two revisions (ECS's own on a
    /// service that supports them).
    public var shiftsTraffic: Bool { [.canary, .bluegreen, .linear].contains(self) }

    /// The strategies this server can run today.
    public static let available: [StrategyKind] = allCases

    public static func parse(_ text: String) throws -> StrategyKind {
        let name = text.lowercased().replacingOccurrences(of: "-", with: "")
        let names = available.map(\.rawValue).joined(separator: ", ")
        guard let kind = StrategyKind(rawValue: name.isEmpty ? "quicksync" : name) else {
            throw EngineError.invalid("strategy", "unknown strategy '\(text)' (available: \(names))")
        }
        guard available.contains(kind) else {
            throw EngineError(.unimplemented, field: "strategy",
                              "strategy: '\(kind.rawValue)' is not available in this version (available: \(names))")
        }
        return kind
    }
}

/// What a user asked for, validated. Immutable once accepted.
public struct DeploymentRequest: Sendable, Equatable, Codable {
    public var id: String
    public var cluster: String
    public var service: String
    public var strategy: StrategyKind
    /// The task definition JSON as given (validated).
    public var taskDefinition: String {
        didSet { taskDefinitionJSON = Self.parse(taskDefinition) }
    }
    /// `taskDefinition` parsed, once, when the request is made or read back (null when it is
    /// not JSON, which validation refuses).
    public private(set) var taskDefinitionJSON: JSONValue
    public var config: [String: String]
    public var requestedBy: String

    public init(id: String, cluster: String, service: String, strategy: StrategyKind, taskDefinition: String,
                config: [String: String] = [:], requestedBy: String = "") {
        self.init(id: id, cluster: cluster, service: service, strategy: strategy, taskDefinition: taskDefinition,
                  parsed: Self.parse(taskDefinition), config: config, requestedBy: requestedBy)
    }

    init(id: String, cluster: String, service: String, strategy: StrategyKind, taskDefinition: String, parsed: JSONValue,
         config: [String: String], requestedBy: String) {
        self.id = id
        self.cluster = cluster
        self.service = service
        self.strategy = strategy
        self.taskDefinition = taskDefinition
        self.taskDefinitionJSON = parsed
        self.config = config
        self.requestedBy = requestedBy
    }

    enum CodingKeys: String, CodingKey {
        case id, cluster, service, strategy, taskDefinition, config, requestedBy
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.decode(String.self, forKey: .taskDefinition)
        self.init(id: try c.decode(String.self, forKey: .id), cluster: try c.decode(String.self, forKey: .cluster),
                  service: try c.decode(String.self, forKey: .service), strategy: try c.decode(StrategyKind.self, forKey: .strategy),
                  taskDefinition: text, parsed: Self.parse(text), config: try c.decode([String: String].self, forKey: .config),
                  requestedBy: try c.decode(String.self, forKey: .requestedBy))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(cluster, forKey: .cluster)
        try c.encode(service, forKey: .service)
        try c.encode(strategy, forKey: .strategy)
        try c.encode(taskDefinition, forKey: .taskDefinition)
        try c.encode(config, forKey: .config)
        try c.encode(requestedBy, forKey: .requestedBy)
    }

    private static func parse(_ text: String) -> JSONValue { (try? JSONValue.parse(text)) ?? .null }

    /// The key that allows one deployment at a time: cluster and service names (ARNs reduced).
    public var serviceKey: String { "\(cluster.arnResourceName)/\(service.arnResourceName)" }

    /// Same deployment for idempotency: same target, strategy, task definition and settings.
    public func isSameRequest(as other: DeploymentRequest) -> Bool {
        serviceKey == other.serviceKey && strategy == other.strategy && config == other.config
            && taskDefinitionJSON == other.taskDefinitionJSON
    }

    /// Checks the fields of a request as it comes off the wire.
    public static func validated(id: String, cluster: String, service: String, strategy: String, taskDefinition: String,
                                 config: [String: String], requestedBy: String) throws -> DeploymentRequest {
        let id = id.trimmingCharacters(in: .whitespaces)
        if id.count > 128 { throw EngineError.invalid("id", "at most 128 characters") }
        if let bad = id.unicodeScalars.first(where: { !(CharacterSet.alphanumerics.contains($0) || "-_.:/".unicodeScalars.contains($0)) }) {
            throw EngineError.invalid("id", "character '\(bad)' is not allowed (letters, digits, - _ . : /)")
        }
        guard !cluster.trimmingCharacters(in: .whitespaces).isEmpty else { throw EngineError.invalid("cluster", "is required") }
        guard !service.trimmingCharacters(in: .whitespaces).isEmpty else { throw EngineError.invalid("service", "is required") }
        let kind = try StrategyKind.parse(strategy)
        let parsed = try TaskDefinitionInput.validate(taskDefinition)
        return DeploymentRequest(id: id.isEmpty ? Self.generatedID() : id, cluster: cluster, service: service, strategy: kind,
                                 taskDefinition: taskDefinition, parsed: parsed, config: config, requestedBy: requestedBy)
    }

    static func generatedID() -> String {
        "deploy-\(Int(Date().timeIntervalSince1970))-\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// Validation of the `-taskdef` JSON: an object with a `family`; `containerDefinitions`, when
/// given and not empty, must be containers with a name and an image. An absent or empty
/// `containerDefinitions` means "the service's current containers" (a new revision of what
/// runs now, with the other given fields applied).
public enum TaskDefinitionInput {
    public static let maxBytes = 64 * 1024

    public static func validate(_ text: String) throws -> JSONValue {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw EngineError.invalid("taskdef", "is required (task definition JSON)")
        }
        guard text.utf8.count <= maxBytes else {
            throw EngineError.invalid("taskdef", "is \(text.utf8.count) bytes; the limit is \(maxBytes)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch {
            throw EngineError.invalid("taskdef", "\(error)")
        }
        guard case .object(let fields) = json else {
            throw EngineError.invalid("taskdef", "must be a JSON object, not \(json.typeName)")
        }
        guard let familyValue = fields["family"] else { throw EngineError.invalid("taskdef.family", "is required") }
        guard let family = familyValue.stringValue else {
            throw EngineError.invalid("taskdef.family", "must be a string, not \(familyValue.typeName)")
        }
        let familyPattern = family.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }
        guard !family.isEmpty, family.count <= 255, familyPattern else {
            throw EngineError.invalid("taskdef.family", "must be 1-255 letters, digits, hyphens or underscores")
        }
        if let containers = fields["containerDefinitions"] {
            guard let list = containers.arrayValue else {
                throw EngineError.invalid("taskdef.containerDefinitions", "must be an array, not \(containers.typeName)")
            }
            for (i, container) in list.enumerated() {
                let path = "taskdef.containerDefinitions[\(i)]"
                guard container.objectValue != nil else { throw EngineError.invalid(path, "must be an object") }
                for key in ["name", "image"] {
                    guard let value = container[key] else { throw EngineError.invalid("\(path).\(key)", "is required") }
                    guard let s = value.stringValue, !s.isEmpty else {
                        throw EngineError.invalid("\(path).\(key)", "must be a non-empty string")
                    }
                }
            }
        }
        return json
    }

    /// The definition to register: the given JSON, with the containers of `current` when the
    /// request gives none.
    public static func definitionToRegister(request: JSONValue, current: TaskDefinition?) -> TaskDefinition {
        let givenContainers = request["containerDefinitions"]?.arrayValue ?? []
        guard givenContainers.isEmpty, let current else { return TaskDefinition(json: request) }
        var merged = current.registrationInput()
        for (key, value) in request.objectValue ?? [:] where key != "containerDefinitions" {
            merged.json[key] = value
        }
        return merged
    }
}
