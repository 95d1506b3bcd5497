import Crypto
import CryptoExtras
import Foundation

/// An OIDC issuer for tests: an RSA and a P-256 key, their JWKS, and JWTs signed with them
/// (or, to test refusals, with `none` or HMAC).
public struct TestIssuer: Sendable {
    public let rsa: _RSA.Signing.PrivateKey
    public let ec = P256.Signing.PrivateKey()

    public init() {
        rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    public func jwks() -> Data {
        let rsaKey = try! rsa.publicKey.getKeyPrimitives()
        let ecRaw = ec.publicKey.rawRepresentation
        let keys: [[String: String]] = [
            ["kty": "RSA", "kid": "r1", "n": Self.b64(rsaKey.modulus), "e": Self.b64(rsaKey.publicExponent), "alg": "RS256", "use": "sig"],
            ["kty": "EC", "kid": "e1", "crv": "P-256", "x": Self.b64(ecRaw.prefix(32)), "y": Self.b64(ecRaw.suffix(32))],
        ]
        return try! JSONSerialization.data(withJSONObject: ["keys": keys])
    }

    public func token(alg: String = "RS256", kid: String? = nil, claims: [String: Any]) -> String {
        var header: [String: Any] = ["alg": alg, "typ": "JWT"]
        header["kid"] = kid ?? (alg == "ES256" ? "e1" : "r1")
        let signingInput = Self.b64(try! JSONSerialization.data(withJSONObject: header)) + "."
            + Self.b64(try! JSONSerialization.data(withJSONObject: claims))
        let data = Data(signingInput.utf8)
        let signature: Data = switch alg {
        case "RS256": try! rsa.signature(for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5).rawRepresentation
        case "ES256": try! ec.signature(for: SHA256.hash(data: data)).rawRepresentation
        case "HS256": Data(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: jwks())))
        default: Data()
        }
        return signingInput + "." + Self.b64(signature)
    }

    public static func b64(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
