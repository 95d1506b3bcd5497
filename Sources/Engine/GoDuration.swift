import Foundation

/// Durations written as in Go and in the seed's config: "30s", "5m", "1h30m", "500ms", "2m30s",
/// plus days ("90d").
/// A bare number is seconds.
/// At most `maximum` (10 years); anything longer, negative, infinite or not a number is nil.
public enum GoDuration {
    public static let maximum: Duration = .seconds(3650 * 86400)
    /// Said in errors: what a duration looks like.
    public static let expected = "a duration (e.g. 30s, 5m, 1h) up to 3650d"

    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard !s.isEmpty, s.count <= 64 else { return nil }
        if s.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            guard let seconds = Double(s) else { return nil }
            return bounded(seconds)
        }
        var total = 0.0
        var rest = Substring(s)
        while !rest.isEmpty {
            let number = rest.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "d": scale = 86400
            case "h": scale = 3600
            case "m": scale = 60
            case "s": scale = 1
            case "ms": scale = 0.001
            case "us", "µs": scale = 0.000_001
            case "ns": scale = 0.000_000_001
            default: return nil
            }
            total += value * scale
        }
        return bounded(total)
    }

    private static func bounded(_ seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0, seconds <= maximum.seconds else { return nil }
        return .seconds(seconds)
    }

    /// "1h2m3s", "5m", "30s", "250ms".
    public static func format(_ d: Duration) -> String {
        let total = d.seconds
        if total < 1 && total > 0 { return "\(Int((total * 1000).rounded()))ms" }
        var seconds = Int(total.rounded())
        var out = ""
        if seconds >= 3600 { out += "\(seconds / 3600)h"; seconds %= 3600 }
        if seconds >= 60 { out += "\(seconds / 60)m"; seconds %= 60 }
        if seconds > 0 || out.isEmpty { out += "\(seconds)s" }
        return out
    }
}
