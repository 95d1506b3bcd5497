import Engine
import Foundation

/// A typed view of a YAML mapping that names the key path in every error.
struct ConfigNode {
    let value: Any
    let path: String
    let source: String

    func object() throws -> ConfigObject {
        guard let dict = value as? [String: Any] else {
            throw ConfigError("\(source): \(path.isEmpty ? "the document" : path) must be a mapping")
        }
        return ConfigObject(fields: dict, path: path, source: source)
    }

    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }
}

struct ConfigObject {
    let fields: [String: Any]
    let path: String
    let source: String

    private func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }
    func keyPath(_ k: String) -> String { key(k) }

    /// A scalar as text; a list becomes comma-separated (`stages: [10, 25]` -> "10,25").
    func scalarText(_ k: String) throws -> String? {
        guard let v = fields[k], !(v is NSNull) else { return nil }
        if v is [String: Any] { throw fail(k, "must be a value, not a mapping") }
        if let list = v as? [Any] { return list.map { "\($0)" }.joined(separator: ",") }
        return "\(v)"
    }
    private func fail(_ k: String, _ message: String) -> ConfigError { ConfigError("\(source): \(key(k)): \(message)") }
    /// `k`, or the environment variable that `k_env` names (which must be set): for secrets,
    /// which are never shown back in an error.
    func secret(_ k: String, environment: [String: String]) throws -> String? {
        if let variable = try string("\(k)_env") {
            guard let value = environment[variable], !value.isEmpty else {
                throw fail("\(k)_env", "the environment variable \(variable) is not set")
            }
            return value
        }
        return try string(k).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The error for key `k` of this object: "<file>: <path>.<k>: <message>".
    func failure(_ k: String, _ message: String) -> ConfigError { fail(k, message) }

    func only(_ allowed: Set<String>) throws {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw fail(unknown, "unknown key (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func objectIfPresent(_ k: String) throws -> ConfigObject? {
        guard let v = fields[k], !(v is NSNull) else { return nil }
        return try ConfigNode(value: v, path: key(k), source: source).object()
    }

    private func scalar(_ k: String) -> String? {
        guard let v = fields[k], !(v is NSNull) else { return nil }
        return "\(v)"
    }

    func string(_ k: String) throws -> String? {
        guard let v = fields[k], !(v is NSNull) else { return nil }
        if v is [Any] || v is [String: Any] { throw fail(k, "must be a string") }
        return "\(v)"
    }

    func int(_ k: String, min: Int, max: Int = 1_000_000_000) throws -> Int? {
        guard let s = scalar(k) else { return nil }
        guard let i = Int(s), i >= min, i <= max else { throw fail(k, "'\(s.prefix(64))' must be a whole number from \(min) to \(max)") }
        return i
    }

    func port(_ k: String) throws -> Int? {
        guard let s = scalar(k) else { return nil }
        guard let i = Int(s), (0...65535).contains(i) else { throw fail(k, "'\(s)' is not a port (0-65535)") }
        return i
    }

    func double(_ k: String, min: Double) throws -> Double? {
        guard let s = scalar(k) else { return nil }
        guard let d = Double(s), d.isFinite, d >= min, d <= 1e9 else { throw fail(k, "'\(s.prefix(64))' must be a number from \(min) to 1e9") }
        return d
    }

    func bool(_ k: String) throws -> Bool? {
        guard let s = scalar(k) else { return nil }
        guard let b = ConfigNode.parseBool(s) else { throw fail(k, "'\(s)' is not true or false") }
        return b
    }

    func duration(_ k: String) throws -> Duration? {
        guard let s = scalar(k) else { return nil }
        guard let d = GoDuration.parse(s) else { throw fail(k, "'\(s.prefix(64))' is not \(GoDuration.expected)") }
        return d
    }

    /// A string or a list of strings.
    func strings(_ k: String) throws -> [String]? {
        guard let v = fields[k], !(v is NSNull) else { return nil }
        if let list = v as? [Any] {
            return try list.map {
                guard !($0 is [Any]), !($0 is [String: Any]) else { throw fail(k, "must be a list of strings") }
                return "\($0)"
            }
        }
        if v is [String: Any] { throw fail(k, "must be a string or a list of strings") }
        return ["\(v)"]
    }

    /// A list of mappings.
    func objects(_ k: String) throws -> [ConfigObject]? {
        guard let v = fields[k], !(v is NSNull) else { return nil }
        guard let list = v as? [Any] else { throw fail(k, "must be a list") }
        return try list.enumerated().map { i, item in
            try ConfigNode(value: item, path: "\(key(k))[\(i)]", source: source).object()
        }
    }

    /// A mapping of names to strings.
    func stringMap(_ k: String) throws -> [String: String]? {
        guard let object = try objectIfPresent(k) else { return nil }
        var out: [String: String] = [:]
        for name in object.fields.keys.sorted() {
            guard let value = try object.string(name) else { throw object.fail(name, "must be a string") }
            out[name] = value
        }
        return out
    }
}
