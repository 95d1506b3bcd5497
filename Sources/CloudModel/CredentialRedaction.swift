import Foundation

/// Removes user names, passwords, tokens and query values from URLs in text:
/// `https://user:token@host/x?key=secret` becomes `https://***@host/x?key=***`.
public enum CredentialRedaction {
    public static func redact(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let end = rest.firstIndex { "/?#@'\"".contains($0) || $0.isWhitespace } ?? rest.endIndex
            if end < rest.endIndex, rest[end] == "@" {
                out += "***"
                rest = rest[end...]
            }
            // The URL runs to the next white space or quote; its query values are hidden.
            let urlEnd = rest.firstIndex { "'\"".contains($0) || $0.isWhitespace } ?? rest.endIndex
            if let query = rest[..<urlEnd].firstIndex(of: "?") {
                out += rest[..<query]
                out += redactQuery(rest[rest.index(after: query)..<urlEnd])
                rest = rest[urlEnd...]
            }
        }
        return out + rest
    }

    private static func redactQuery(_ query: Substring) -> String {
        let fragment = query.firstIndex(of: "#")
        let pairs = query[..<(fragment ?? query.endIndex)].split(separator: "&", omittingEmptySubsequences: false).map { pair in
            guard let eq = pair.firstIndex(of: "=") else { return String(pair) }
            return "\(pair[..<eq])=***"
        }
        return "?" + pairs.joined(separator: "&") + (fragment.map { String(query[$0...]) } ?? "")
    }
}
