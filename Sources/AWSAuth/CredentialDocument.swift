import Foundation

/// The JSON document that the ECS container endpoint and IMDS answer with.
struct CredentialDocument: Decodable {
    var accessKeyID: String?
    var secretAccessKey: String?
    var token: String?
    var expiration: String?
    var code: String?

    enum CodingKeys: String, CodingKey {
        case accessKeyID = "AccessKeyId"
        case secretAccessKey = "SecretAccessKey"
        case token = "Token"
        case expiration = "Expiration"
        case code = "Code"
    }

    /// Parses `body` into credentials. Errors say what was wrong with the document, never
    /// what it held.
    static func credentials(from body: [UInt8], source: String) throws(DocumentError) -> AWSCredentials {
        let document: CredentialDocument
        do {
            document = try JSONDecoder().decode(CredentialDocument.self, from: Data(body))
        } catch {
            throw DocumentError(reason: "the answer is not a JSON credentials document (\(body.count) bytes)")
        }
        if let code = document.code, code != "Success" {
            throw DocumentError(reason: "the answer's Code is '\(code.prefix(64))', not 'Success'")
        }
        var missing: [String] = []
        if document.accessKeyID?.isEmpty ?? true { missing.append("AccessKeyId") }
        if document.secretAccessKey?.isEmpty ?? true { missing.append("SecretAccessKey") }
        guard missing.isEmpty, let keyID = document.accessKeyID, let secret = document.secretAccessKey else {
            throw DocumentError(reason: "the answer lacks \(missing.joined(separator: " and "))")
        }
        var expiration: Date?
        if let text = document.expiration {
            guard let date = AWSTimestamp.parse(text) else {
                throw DocumentError(reason: "the answer's Expiration is not an ISO 8601 time")
            }
            expiration = date
        }
        let token = document.token.flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token,
                              expiration: expiration, source: source)
    }

    struct DocumentError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }
}
