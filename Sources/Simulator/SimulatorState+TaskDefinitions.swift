import CloudModel
import Foundation

extension SimulatorState {
    /// RegisterTaskDefinition: revision = last + 1 in the family; every given field is kept.
    mutating func register(_ definition: TaskDefinition, now: Date) throws -> TaskDefinition {
        guard case .object(var fields) = definition.json else {
            throw CloudError(code: CloudError.client, message: "The task definition must be a JSON object.")
        }
        guard let family = fields["family"]?.stringValue, !family.isEmpty else {
            throw CloudError(code: CloudError.client, message: "Family must be specified.")
        }
        guard family.count <= 255,
              family.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw CloudError(code: CloudError.client, message: "Family contains invalid characters.")
        }
        guard let containers = fields["containerDefinitions"]?.arrayValue, !containers.isEmpty else {
            throw CloudError(code: CloudError.client, message: "Container definitions must be specified.")
        }
        for container in containers where container["name"]?.stringValue == nil || container["image"]?.stringValue == nil {
            throw CloudError(code: CloudError.client, message: "Container definition must specify a name and an image.")
        }
        let revision = (taskDefinitions[family]?.count ?? 0) + 1
        fields["taskDefinitionArn"] = .string(ARN.taskDefinition(family: family, revision: revision))
        fields["revision"] = .number(Double(revision))
        fields["status"] = .string("ACTIVE")
        fields["registeredAt"] = .number(now.timeIntervalSince1970.rounded())
        // AWS answers these lists always, empty when none were given.
        for key in ["volumes", "placementConstraints"] where fields[key] == nil { fields[key] = .array([]) }
        let registered = TaskDefinition(json: .object(fields))
        taskDefinitions[family, default: []].append(registered)
        return registered
    }

    /// `family`, `family:revision` or an ARN; ClientException when unknown.
    func resolveTaskDefinition(_ reference: String) throws -> TaskDefinition {
        let name = reference.hasPrefix("arn:")
            ? String(reference.split(separator: "/", maxSplits: 1).last ?? "") : reference
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        let found: TaskDefinition?
        switch parts.count {
        case 1:
            found = taskDefinitions[name]?.last
        case 2:
            if let revision = Int(parts[1]), let revisions = taskDefinitions[String(parts[0])],
               revision >= 1, revision <= revisions.count {
                found = revisions[revision - 1]
            } else {
                found = nil
            }
        default:
            found = nil
        }
        guard let found else {
            throw CloudError(code: CloudError.client, message: "Unable to describe task definition.")
        }
        return found
    }

    func taskDefinition(arn: String) -> TaskDefinition? { try? resolveTaskDefinition(arn) }

    /// DeregisterTaskDefinition: the revision (`family:revision` or its ARN) becomes INACTIVE;
    /// it stays describable, and services running it go on, as on AWS.
    mutating func deregister(_ reference: String, now: Date) throws -> TaskDefinition {
        let found = try resolveTaskDefinition(reference)
        guard let family = found.family, let revision = found.revision, reference.contains(":") else {
            throw CloudError(code: CloudError.invalidParameter, message: "A task definition revision (family:revision or its ARN) must be given.")
        }
        var json = found.json
        json["status"] = .string("INACTIVE")
        json["deregisteredAt"] = .number(now.timeIntervalSince1970.rounded())
        taskDefinitions[family]![revision - 1] = TaskDefinition(json: json)
        return TaskDefinition(json: json)
    }
}
