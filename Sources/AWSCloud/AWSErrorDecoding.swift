import AWSAuth
import CloudModel
import Foundation

/// Turns AWS error answers into `CloudError`s with AWS's code and message.
enum AWSErrorDecoding {
    /// AWS JSON 1.1: `{"__type": "com.amazonaws.ecs#ClientException", "message": "..."}`, or
    /// the `x-amzn-ErrorType` header (`ClientException:http://...`).
    static func json(status: Int, headers: [(String, String)], body: [UInt8], service: AWSService,
                     operation: String) -> CloudError {
        let document = try? JSONValue.parse(String(decoding: body, as: UTF8.self))
        var code: String?
        if let header = headers.first(where: { $0.0.lowercased() == "x-amzn-errortype" })?.1 {
            code = shortCode(header)
        }
        if code == nil || code == "", let type = document?["__type"]?.stringValue ?? document?["code"]?.stringValue {
            code = shortCode(type)
        }
        let message = document?["message"]?.stringValue ?? document?["Message"]?.stringValue
            ?? document?["errorMessage"]?.stringValue
        if document == nil, code == nil, let xml = XMLTree.parse(body)?.first(named: "Error"), let xmlCode = xml.string("Code") {
            // Some front ends (and moto's signature check) answer a JSON service in XML.
            return make(code: xmlCode, message: xml.string("Message"), status: status, body: body, service: service,
                        operation: operation)
        }
        return make(code: code, message: message, status: status, body: body, service: service, operation: operation)
    }

    /// Query protocol: `<ErrorResponse><Error><Code>..</Code><Message>..</Message></Error>`
    /// (also the `<Response><Errors><Error>` form).
    static func query(status: Int, body: [UInt8], service: AWSService, operation: String) -> CloudError {
        let error = XMLTree.parse(body)?.first(named: "Error")
        return make(code: error?.string("Code"), message: error?.string("Message"), status: status, body: body,
                    service: service, operation: operation)
    }

    /// `com.amazonaws.ecs#ClientException` / `ClientException:http://...` -> `ClientException`.
    static func shortCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        return code.trimmingCharacters(in: .whitespaces)
    }

    private static func make(code: String?, message: String?, status: Int, body: [UInt8], service: AWSService,
                             operation: String) -> CloudError {
        let call = "\(service.signingName):\(operation)"
        if let code, !code.isEmpty {
            let text = (message?.isEmpty == false) ? message! : "(no message)"
            return CloudError(code: code, message: "\(call): \(text)", httpStatus: status)
        }
        // No AWS error document (a proxy, a crashed emulator): keep the status and a short excerpt.
        let fallback = status == 429 ? "Throttling" : status == 503 ? "ServiceUnavailable" : status >= 500 ? "InternalFailure" : "UnknownError"
        return CloudError(code: fallback, message: "\(call): HTTP \(status): \(excerpt(body))", httpStatus: status)
    }

    /// The first words of a body that is not an AWS error document, markup removed.
    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(2048), as: UTF8.self)
        let stripped = text.replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
        let words = stripped.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        if words.isEmpty { return "empty body" }
        return words.count > 200 ? String(words.prefix(200)) + "..." : words
    }
}
