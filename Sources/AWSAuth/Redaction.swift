import Foundation

/// Removes secret values from text that came from elsewhere (an STS error message, say)
/// before it goes into an error or a log line.
enum Redaction {
    static let placeholder = "<redacted>"

    static func scrub(_ text: String, secrets: [String?]) -> String {
        var out = text
        for case let secret? in secrets where secret.count >= 4 {
            out = out.replacingOccurrences(of: secret, with: placeholder)
        }
        return out
    }
}
