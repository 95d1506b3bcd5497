import CloudModel
import Foundation

/// Which URLs a request may make the server call (`security.allowed_url_prefixes`): a URL
/// must have the scheme, host and port of an allowed prefix and start with its path. Link-local
/// and instance-metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254) are never
/// called from a request's URL, whatever the list says, by literal address or by name.
public struct URLPolicy: Sendable, Equatable {
    /// nil: any http(s) URL (mock mode's default); empty: none.
    public var allowedPrefixes: [String]?

    public init(allowedPrefixes: [String]?) {
        self.allowedPrefixes = allowedPrefixes
    }

    /// Throws a message that names `field` and shows the URL without its secrets.
    public func check(_ text: String, field: String) throws(URLRefused) {
        let shown = CredentialRedaction.redact(String(text.prefix(512)))
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host?.lowercased(), !host.isEmpty else {
            throw URLRefused(field: field, message: "'\(shown)' is not an http(s) URL")
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw URLRefused(field: field, message: "'\(shown)': port \(port) is out of range") }
        let allowed = allowedPrefixes == nil || allowedPrefixes!.contains { prefix in
            guard let p = URLComponents(string: prefix), let pScheme = p.scheme?.lowercased(), let pHost = p.host?.lowercased() else {
                return false
            }
            let pPort = p.port ?? (pScheme == "https" ? 443 : 80)
            return pScheme == scheme && pHost == host && pPort == port && url.path.hasPrefix(p.path)
        }
        guard allowed else {
            let list = allowedPrefixes ?? []
            let hint = list.isEmpty ? "no URL is allowed from a request" : "allowed: \(list.map(CredentialRedaction.redact).joined(separator: ", "))"
            throw URLRefused(field: field, message: "'\(shown)' is not under security.allowed_url_prefixes (\(hint))")
        }
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if Self.isLinkLocal(bare) || Self.resolve(bare).contains(where: Self.isLinkLocal) {
            throw URLRefused(field: field, message: "'\(shown)' is a link-local or instance-metadata address, never called from a request")
        }
    }

    /// 169.254.0.0/16, fe80::/10, fd00:ec2::254 (and IPv4-mapped forms).
    public static func isLinkLocal(_ address: String) -> Bool {
        // A zone index (fe80::1%eth0) only exists on link-local addresses.
        if address.contains("%") { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let bytes = withUnsafeBytes(of: v4.s_addr) { Array($0) }
            return bytes[0] == 169 && bytes[1] == 254
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return false }
        let b = withUnsafeBytes(of: v6) { Array($0) }
        if b[0] == 0xfe && (b[1] & 0xc0) == 0x80 { return true }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff { return b[12] == 169 && b[13] == 254 }
        let metadata: [UInt8] = [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54]
        return b == metadata
    }

    /// The addresses a host name resolves to (empty when it does not resolve).
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var out: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let n = node {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(n.pointee.ai_addr, n.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                out.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            node = n.pointee.ai_next
        }
        return out
    }
}

public struct URLRefused: Error, CustomStringConvertible, Sendable {
    public let field: String
    public let message: String
    public var description: String { "\(field): \(message)" }
}
