import CloudModel
import Foundation

/// Reads fields out of AWS answers, with an error that names the call and the field when a
/// field the client needs is missing.
struct ResponseReader: Sendable {
    let call: String

    func missing(_ field: String) -> CloudError {
        CloudError(code: "InvalidResponse", message: "\(call): the answer has no \(field)", httpStatus: 200)
    }

    // MARK: JSON

    func string(_ value: JSONValue, _ key: String, in context: String) throws -> String {
        guard let s = value[key]?.stringValue else { throw missing("\(context).\(key)") }
        return s
    }

    func int(_ value: JSONValue, _ key: String) -> Int? {
        if case .number(let n)? = value[key] { return Int(n) }
        return value[key]?.intValue
    }

    func double(_ value: JSONValue, _ key: String) -> Double? {
        switch value[key] {
        case .number(let n)?: return n
        case .string(let s)?: return Double(s)
        default: return nil
        }
    }

    /// JSON timestamps are epoch seconds; an ISO 8601 string is accepted too.
    func date(_ value: JSONValue, _ key: String) -> Date? {
        switch value[key] {
        case .number(let n)?: return Date(timeIntervalSince1970: n)
        case .string(let s)?: return Self.parseISO(s)
        default: return nil
        }
    }

    func array(_ value: JSONValue, _ key: String) -> [JSONValue] { value[key]?.arrayValue ?? [] }

    // MARK: XML

    func string(_ node: XMLTree, _ key: String, in context: String) throws -> String {
        guard let s = node.string(key) else { throw missing("\(context).\(key)") }
        return s
    }

    func xmlDate(_ node: XMLTree, _ key: String) -> Date? {
        node.string(key).flatMap(Self.parseISO)
    }

    static func parseISO(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = withFraction.date(from: text) { return d }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)
    }
}
