import Crypto
import Foundation

/// `gitops.webhook_secret`: a push webhook is taken only with GitHub's `X-Hub-Signature-256`
/// (`sha256=` and the hex HMAC-SHA256 of the body under the secret) or GitLab's
/// `X-Gitlab-Token` (the secret itself), both compared in constant time.
public struct WebhookSignature: Sendable {
    let key: SymmetricKey
    let secret: [UInt8]

    public init(secret: String) {
        self.secret = Array(secret.utf8)
        self.key = SymmetricKey(data: self.secret)
    }

    public func accepts(body: [UInt8], githubSignature: String?, gitlabToken: String?) -> Bool {
        if let header = githubSignature {
            guard header.hasPrefix("sha256="), let given = Self.hex(String(header.dropFirst(7))) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: body, using: key)
        }
        if let token = gitlabToken {
            return Self.constantTimeEqual(Array(token.utf8), secret)
        }
        return false
    }

    /// The `X-Hub-Signature-256` value GitHub sends for `body`.
    public func githubSignature(of body: [UInt8]) -> String {
        "sha256=" + HMAC<SHA256>.authenticationCode(for: body, using: key).map { String(format: "%02x", $0) }.joined()
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    static func hex(_ text: String) -> [UInt8]? {
        guard text.count == 64 else { return nil }
        var out: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        return out
    }
}
