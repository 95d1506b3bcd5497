import Foundation

extension Dictionary where Key == String, Value == String {
    /// The variable's value with surrounding whitespace removed, or nil when it is unset or
    /// blank (the SDKs treat an empty variable as unset).
    func setting(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }

    /// True when the variable is `true` in any letter case.
    func flag(_ name: String) -> Bool {
        setting(name)?.lowercased() == "true"
    }
}

/// AWS timestamps in credential documents: ISO 8601 in UTC, with or without fractional
/// seconds (`2015-08-30T12:36:00Z`, `2015-08-30T12:36:00.123Z`).
enum AWSTimestamp {
    static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let date = try? Date(trimmed, strategy: Date.ISO8601FormatStyle()) { return date }
        return try? Date(trimmed, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
