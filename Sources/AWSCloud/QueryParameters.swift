import CloudModel
import Foundation

/// Query protocol parameters in order, with the list (`Name.member.N`) and map
/// (`Name.entry.N.key/value`) flattening that the protocol uses.
struct QueryParameters: Sendable, Equatable {
    private(set) var items: [(key: String, value: String)] = []

    init() {}

    static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool {
        lhs.items.map(\.key) == rhs.items.map(\.key) && lhs.items.map(\.value) == rhs.items.map(\.value)
    }

    mutating func add(_ key: String, _ value: String) { items.append((key, value)) }

    mutating func addOptional(_ key: String, _ value: String?) {
        if let value { items.append((key, value)) }
    }

    mutating func append(_ other: QueryParameters) { items += other.items }

    /// `Key.member.1=a&Key.member.2=b`; an empty list is sent as `Key=` (AWS's "empty list").
    mutating func addList(_ key: String, _ values: [String]) {
        if values.isEmpty { add(key, ""); return }
        for (i, v) in values.enumerated() { add("\(key).member.\(i + 1)", v) }
    }

    /// Flattens a raw JSON value under `key`: objects by member name, arrays as
    /// `member.N`, and the objects named in `mapKeys` as `entry.N.key/value`.
    mutating func addJSON(_ key: String, _ value: JSONValue, mapKeys: Set<String> = []) {
        switch value {
        case .null:
            return
        case .bool(let b):
            add(key, b ? "true" : "false")
        case .number(let n):
            add(key, n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n))
        case .string(let s):
            add(key, s)
        case .array(let values):
            if values.isEmpty { add(key, "") }
            for (i, v) in values.enumerated() { addJSON("\(key).member.\(i + 1)", v, mapKeys: mapKeys) }
        case .object(let fields):
            let name = key.split(separator: ".").last.map(String.init) ?? key
            if mapKeys.contains(name) {
                for (i, k) in fields.keys.sorted().enumerated() {
                    add("\(key).entry.\(i + 1).key", k)
                    addJSON("\(key).entry.\(i + 1).value", fields[k]!, mapKeys: mapKeys)
                }
            } else {
                for k in fields.keys.sorted() { addJSON("\(key).\(k)", fields[k]!, mapKeys: mapKeys) }
            }
        }
    }

    /// `application/x-www-form-urlencoded` text, percent-encoding all but RFC 3986's
    /// unreserved characters.
    func encoded() -> String {
        items.map { "\(Self.escape($0.key))=\(Self.escape($0.value))" }.joined(separator: "&")
    }

    private static let unreserved: CharacterSet = {
        var set = CharacterSet()
        set.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        return set
    }()

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
