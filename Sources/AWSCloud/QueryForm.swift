import CloudModel
import Foundation

/// The form fields of a Query request, as the wire simulators (`ELBWire`, `CloudWatchWire`)
/// read them: a field that is missing or wrong is refused naming it, with the service's code.
struct QueryForm {
    /// `elasticloadbalancing`, `monitoring`: names the call in errors.
    let service: String
    let action: String
    let fields: [String: String]
    /// ELBv2: `ValidationError`; CloudWatch: `InvalidParameterValue`.
    let invalidCode: String

    func string(_ key: String) throws -> String {
        guard let value = fields[key], !value.isEmpty else { throw invalid(key) }
        return value
    }

    /// `Key.member.1`, `Key.member.2`, ... in order.
    func list(_ key: String) -> [String] {
        var values: [String] = []
        while let value = fields["\(key).member.\(values.count + 1)"] { values.append(value) }
        return values
    }

    func invalid(_ field: String, _ what: String = "required") -> CloudError {
        CloudError(code: invalidCode, message: "\(service):\(action): \(field): \(what)")
    }
}
