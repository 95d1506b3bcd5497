import Crypto
import Foundation

/// Checks a request's SigV4 signature (the `Authorization` header) as AWS does, against the
/// secret of its access key: the canonical request is rebuilt from the headers the signature
/// names, the key derived for the date, region and service of its scope. Used by
/// `grpc-server simulate` when it is given keys. Errors never carry the secret or the
/// expected signature.
public struct SigV4Verifier: Sendable {
    /// Access key id -> secret access key.
    let secrets: [String: String]
    /// How far a request's `X-Amz-Date` may be from now (AWS: 15 minutes).
    public static let maximumSkew: TimeInterval = 15 * 60

    public init(secrets: [String: String]) { self.secrets = secrets }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// No `Authorization` header, or not SigV4's.
        case missing
        /// The access key is not one of the configured keys.
        case unknownKey(String)
        /// The date is missing or too far from now.
        case expired(String)
        /// The signature does not match the request.
        case mismatch

        public var description: String {
            switch self {
            case .missing: "the request is not signed with AWS Signature Version 4 (no Authorization header)"
            case .unknownKey(let key): "the security token included in the request is invalid (unknown access key \(key.prefix(32)))"
            case .expired(let why): "the request's date \(why)"
            case .mismatch: "the request signature we calculated does not match the signature you provided"
            }
        }
    }

    /// `path` and `query` as in the request line; `headers` with `Host`.
    public func verify(method: String, path: String, query: String, headers: [(String, String)], body: [UInt8],
                       now: Date = Date()) -> Failure? {
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        guard let authorization = header("authorization"), authorization.hasPrefix(SigV4Signer.algorithm + " ") else { return .missing }
        var parts: [String: String] = [:]
        for item in authorization.dropFirst(SigV4Signer.algorithm.count + 1).split(separator: ",") {
            let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { parts[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = parts["Credential"], let signedNames = parts["SignedHeaders"], let given = parts["Signature"] else {
            return .missing
        }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else { return .missing }
        guard let secret = secrets[scope[0]] else { return .unknownKey(scope[0]) }
        guard let stamp = header("x-amz-date"), let date = SigV4Encoding.parseTimestamp(stamp) else { return .expired("is missing (X-Amz-Date)") }
        guard abs(date.timeIntervalSince(now)) <= Self.maximumSkew else { return .expired("\(stamp) is more than 15 minutes from now") }
        guard SigV4Encoding.dateStamp(date) == scope[1] else { return .mismatch }
        let names = Set(signedNames.split(separator: ";").map(String.init))
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: scope[0], secretAccessKey: secret, sessionToken: header("x-amz-security-token"),
                                                          source: "the simulator's keys"),
                                 region: scope[2], service: scope[3])
        let canonical = signer.canonicalRequest(method: method, path: path, query: query,
                                                headers: headers.filter { names.contains($0.0.lowercased()) },
                                                payloadHash: header("x-amz-content-sha256") ?? SigV4Signer.payloadHash(body))
        guard canonical.signedHeaders == signedNames else { return .mismatch }
        let expected = signer.signature(stringToSign: signer.stringToSign(canonicalRequest: canonical.text, date: date), date: date)
        return Self.sameInConstantTime(expected, given) ? nil : .mismatch
    }

    static func sameInConstantTime(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}
