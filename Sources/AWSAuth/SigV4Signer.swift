import Crypto
import Foundation

/// Signs HTTP requests with AWS Signature Version 4 (header form, HMAC-SHA256).
///
/// `sign` returns the header list to send. The intermediate steps (`canonicalRequest`,
/// `stringToSign`, `signature`, `authorization`) are public so that tests and tools can
/// compare each one with AWS's published examples.
///
/// A session token is always signed (`X-Amz-Security-Token` is part of the canonical
/// request), which every service this server calls accepts.
public struct SigV4Signer: Sendable, CustomStringConvertible {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public static let algorithm = "AWS4-HMAC-SHA256"

    /// Headers never signed: they are set or changed by proxies and HTTP layers, or carry
    /// the signature itself.
    public static let unsignedHeaders: Set<String> = [
        "authorization", "user-agent", "x-amzn-trace-id", "expect", "connection", "transfer-encoding",
    ]

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    public var description: String {
        "SigV4Signer(accessKeyID: \(credentials.accessKeyID), region: \(region), service: \(service))"
    }

    // MARK: Signing

    /// Signs a request to `url`. Returns `headers` (less any `Authorization` or `X-Amz-Date`
    /// they held) plus `Host` when absent, `X-Amz-Date`, `X-Amz-Security-Token` when the
    /// credentials carry a session token, and `Authorization`.
    public func sign(method: String, url: URL, headers: [(String, String)], body: [UInt8],
                     date: Date) -> [(String, String)] {
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        var path = components?.percentEncodedPath ?? ""
        if path.isEmpty { path = "/" }
        let query = components?.percentEncodedQuery ?? ""
        var all = headers
        if !all.contains(where: { $0.0.lowercased() == "host" }) {
            all.append(("Host", Self.hostHeader(for: url)))
        }
        return sign(method: method, path: path, query: query, headers: all, body: body, date: date)
    }

    /// Signs a request given in request-line form: `path` and `query` exactly as they stand
    /// in the request line, `headers` including `Host`.
    public func sign(method: String, path: String, query: String, headers: [(String, String)], body: [UInt8],
                     date: Date) -> [(String, String)] {
        let replaced: Set<String> = credentials.sessionToken == nil
            ? ["authorization", "x-amz-date"]
            : ["authorization", "x-amz-date", "x-amz-security-token"]
        var out = headers.filter { !replaced.contains($0.0.lowercased()) }
        out.append(("X-Amz-Date", SigV4Encoding.timestamp(date)))
        if let token = credentials.sessionToken {
            out.append(("X-Amz-Security-Token", token))
        }
        let canonical = canonicalRequest(method: method, path: path, query: query, headers: out,
                                         payloadHash: Self.payloadHash(body))
        let toSign = stringToSign(canonicalRequest: canonical.text, date: date)
        let authorizationValue = authorization(signedHeaders: canonical.signedHeaders,
                                               signature: signature(stringToSign: toSign, date: date), date: date)
        out.append(("Authorization", authorizationValue))
        return out
    }

    // MARK: Steps

    /// Task 1: the canonical request, and the `;`-separated list of signed header names.
    public func canonicalRequest(method: String, path: String, query: String, headers: [(String, String)],
                                 payloadHash: String) -> (text: String, signedHeaders: String) {
        let signed = headers.filter { !Self.unsignedHeaders.contains($0.0.lowercased()) }
        let canonicalHeaders = SigV4Encoding.canonicalHeaders(signed)
        let text = [
            method.uppercased(),
            SigV4Encoding.canonicalURI(path),
            SigV4Encoding.canonicalQuery(query),
            canonicalHeaders.text,
            canonicalHeaders.signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        return (text, canonicalHeaders.signedHeaders)
    }

    /// `20150830/us-east-1/service/aws4_request`.
    public func credentialScope(date: Date) -> String {
        "\(SigV4Encoding.dateStamp(date))/\(region)/\(service)/aws4_request"
    }

    /// Task 2: the string to sign.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        [
            Self.algorithm,
            SigV4Encoding.timestamp(date),
            credentialScope(date: date),
            SigV4Encoding.hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
    }

    /// Task 3: the hex signature of the string to sign, with the key derived for the date,
    /// region and service.
    public func signature(stringToSign: String, date: Date) -> String {
        let key = signingKey(date: date)
        let code = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)
        return SigV4Encoding.hex(code)
    }

    /// Task 4: the `Authorization` header value.
    public func authorization(signedHeaders: String, signature: String, date: Date) -> String {
        "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope(date: date)), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    private func signingKey(date: Date) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [SigV4Encoding.dateStamp(date), region, service, "aws4_request"] {
            let code = HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)
            key = SymmetricKey(data: Array(code))
        }
        return key
    }

    // MARK: Helpers

    /// Hex SHA-256 of the body.
    public static func payloadHash(_ body: [UInt8]) -> String {
        SigV4Encoding.hex(SHA256.hash(data: body))
    }

    /// `host` or `host:port` (the port only when it is not the scheme's default).
    public static func hostHeader(for url: URL) -> String {
        var host = url.host ?? ""
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        guard let port = url.port else { return host }
        let scheme = url.scheme?.lowercased()
        if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) { return host }
        return "\(host):\(port)"
    }
}
