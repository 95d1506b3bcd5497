import CloudModel
import Foundation

/// The fields of a request in AWS JSON 1.1, as the wire simulators (`ECSWire`, `EventsWire`)
/// read them: a field that is missing or of the wrong kind is refused naming it, with the
/// service's own error code.
struct WireInput {
    /// `ecs`, `events`: names the call in errors.
    let service: String
    let operation: String
    let body: JSONValue
    /// The code of a refused input (ECS: `InvalidParameterException`, EventBridge: `ValidationException`).
    let invalidCode: String

    func optionalString(_ key: String) -> String? { body[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }

    func string(_ key: String) throws -> String {
        guard let value = optionalString(key) else { throw invalid(key) }
        return value
    }

    func strings(_ key: String) throws -> [String] {
        guard let values = body[key]?.arrayValue?.compactMap(\.stringValue), values.count == body[key]?.arrayValue?.count else {
            throw invalid(key, "a list of strings")
        }
        return values
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let value = body[key], value != .null else { return nil }
        guard let n = value.intValue, n >= 0 else { throw invalid(key, "a whole number, 0 or more") }
        return n
    }

    func invalid(_ field: String, _ what: String = "required") -> CloudError {
        CloudError(code: invalidCode, message: "\(service):\(operation): \(field): \(what)")
    }
}
