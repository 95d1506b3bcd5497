import Foundation
import Yams

/// One `key: value` of a YAML mapping, with the path used in messages (`services[1].image`).
struct ManifestField {
    let key: Node
    let value: Node
    let path: String

    /// The value's line; the key's for an empty value (libyaml places those at the next token).
    var line: Int? { isNull ? key.mark?.line : value.mark?.line ?? key.mark?.line }
    var isNull: Bool { value.isNullScalar }
}

extension Node {
    var isNullScalar: Bool {
        null != nil
    }

    /// "a mapping", "a list", "a string": for "must be X, not Y" messages.
    var kindName: String {
        switch self {
        case .scalar: return isNullScalar ? "empty" : "a scalar"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

/// Reads YAML nodes into values and collects every problem with its line, so that one
/// pass over a manifest reports all of its mistakes.
struct ManifestReader {
    let file: String
    private(set) var problems: [ManifestError] = []

    init(file: String) { self.file = file }

    mutating func report(line: Int?, _ field: String?, _ message: String) {
        problems.append(ManifestError(file: file, line: line, field: field, message: message))
    }

    mutating func report(_ node: Node?, _ field: String?, _ message: String) {
        report(line: node?.mark?.line, field, message)
    }

    /// The fields of a mapping by key. Reports a node that is not a mapping, keys that are not
    /// plain strings, and keys outside `known` (with a suggestion or a `hints` text).
    mutating func fields(of node: Node, path: String?, known: [String], hints: [String: String] = [:]) -> [String: ManifestField]? {
        guard case .mapping(let mapping) = node else {
            report(node, path, "must be a mapping (key: value lines), not \(node.kindName)")
            return nil
        }
        var out: [String: ManifestField] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, !key.isNullScalar else {
                report(key, path, "keys must be plain words, not \(key.kindName)")
                continue
            }
            let name = scalar.string
            guard known.contains(name) else {
                report(key, path, Self.unknownKeyMessage(name, known: known, hint: hints[name]))
                continue
            }
            out[name] = ManifestField(key: key, value: value, path: path.map { "\($0).\(name)" } ?? name)
        }
        return out
    }

    static func unknownKeyMessage(_ name: String, known: [String], hint: String?) -> String {
        if let hint { return "unknown key '\(name)' (\(hint))" }
        if let guess = KeySuggestion.closest(to: name, in: known) { return "unknown key '\(name)' (did you mean '\(guess)'?)" }
        return "unknown key '\(name)' (known keys: \(known.joined(separator: ", ")))"
    }

    // MARK: Values

    /// A string value. A missing field is reported at `owner` (the entry) when `required`;
    /// an empty one is always reported.
    mutating func string(_ field: ManifestField?, required: Bool, owner: Node, ownerPath: String, name: String) -> String? {
        guard let field else {
            if required { report(owner, "\(ownerPath)\(ownerPath.isEmpty ? "" : ".")\(name)", "is required") }
            return nil
        }
        guard case .scalar(let scalar) = field.value else {
            report(field.value, field.path, "must be a string, not \(field.value.kindName)")
            return nil
        }
        let text = field.isNull ? "" : scalar.string.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            report(line: field.line, field.path, "must not be empty")
            return nil
        }
        return text
    }

    /// A whole number in `range`; `what` names the expectation in the message.
    mutating func integer(_ field: ManifestField, in range: ClosedRange<Int>, what: String) -> Int? {
        guard case .scalar(let scalar) = field.value, let value = Int(scalar.string.trimmingCharacters(in: .whitespaces)),
              range.contains(value) else {
            report(line: field.line, field.path, "\(Self.shown(field.value)) is not \(what)")
            return nil
        }
        return value
    }

    /// A list of non-empty strings (`[a, b]`, or one string for a list of one).
    mutating func stringList(_ field: ManifestField) -> [String]? {
        let items: [Node]
        switch field.value {
        case .sequence(let list): items = Array(list)
        case .scalar where !field.isNull: items = [field.value]
        default:
            report(line: field.line, field.path, "must be a list of names, not \(field.value.kindName)")
            return nil
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .scalar(let scalar) = item, !item.isNullScalar,
                  !scalar.string.trimmingCharacters(in: .whitespaces).isEmpty else {
                report(item, "\(field.path)[\(i)]", "must be a name, not \(item.kindName)")
                return nil
            }
            out.append(scalar.string.trimmingCharacters(in: .whitespaces))
        }
        return out
    }

    /// A flat mapping of words to scalars (strings, numbers, booleans), as strings.
    mutating func stringMap(_ field: ManifestField) -> [String: (value: String, line: Int?)]? {
        guard case .mapping(let mapping) = field.value else {
            report(field.value, field.path, "must be a mapping of keys to values, not \(field.value.kindName)")
            return nil
        }
        var out: [String: (value: String, line: Int?)] = [:]
        var ok = true
        for (key, value) in mapping {
            guard case .scalar(let keyScalar) = key, !key.isNullScalar else {
                report(key, field.path, "keys must be plain words, not \(key.kindName)")
                ok = false
                continue
            }
            let path = "\(field.path).\(keyScalar.string)"
            guard case .scalar(let valueScalar) = value, !value.isNullScalar else {
                report(line: value.isNullScalar ? key.mark?.line : value.mark?.line ?? key.mark?.line, path,
                       value.isNullScalar ? "needs a value" : "must be a string, number or boolean, not \(value.kindName)")
                ok = false
                continue
            }
            out[keyScalar.string] = (valueScalar.string, key.mark?.line)
        }
        return ok ? out : nil
    }

    /// A value as quoted in messages: `'x'`, or its kind when it is not a scalar.
    static func shown(_ node: Node) -> String {
        if case .scalar(let scalar) = node, !node.isNullScalar { return "'\(scalar.string)'" }
        return node.isNullScalar ? "an empty value" : node.kindName
    }
}

/// "did you mean" for misspelled keys: same letters ignoring case and `_`/`-`, or at most two edits.
enum KeySuggestion {
    static func closest(to name: String, in known: [String]) -> String? {
        let wanted = normalized(name)
        if let same = known.first(where: { normalized($0) == wanted }) { return same }
        let scored = known.map { ($0, distance(Array(wanted), Array(normalized($0)))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2, best.1 < max(wanted.count, 1) else { return nil }
        return best.0
    }

    static func normalized(_ text: String) -> String {
        text.lowercased().filter { $0 != "_" && $0 != "-" }
    }

    /// Levenshtein distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }
}
