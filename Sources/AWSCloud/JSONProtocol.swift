import AWSAuth
import CloudModel
import Foundation

/// The AWS JSON 1.1 protocol (ECS, EventBridge): a POST to `/` with
/// `X-Amz-Target: <prefix>.<Operation>` and a JSON body.
struct JSONProtocol: Sendable {
    let transport: AWSTransport
    let service: AWSService
    let endpoint: URL
    let signingRegion: String

    init(transport: AWSTransport, service: AWSService, environment: AWSEnvironment) {
        precondition(service.jsonTargetPrefix != nil, "\(service) does not speak AWS JSON")
        self.transport = transport
        self.service = service
        self.endpoint = environment.endpoint(for: service)
        self.signingRegion = environment.signingRegion(for: service)
    }

    /// Calls `operation` with `input` (a JSON object) and returns the answer's JSON.
    func call(_ operation: String, _ input: [String: JSONValue]) async throws -> JSONValue {
        let body = Array(JSONValue.object(input).serialized().utf8)
        let headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "\(service.jsonTargetPrefix!).\(operation)"),
        ]
        let service = self.service
        let response = try await transport.send(
            service: service, operation: operation, url: endpoint, signingRegion: signingRegion, headers: headers,
            body: body
        ) { status, headers, body in
            AWSErrorDecoding.json(status: status, headers: headers, body: body, service: service, operation: operation)
        }
        if response.body.isEmpty { return .object([:]) }
        do {
            return try JSONValue.parse(String(decoding: response.body, as: UTF8.self))
        } catch {
            throw CloudError(code: "InvalidResponse", message: "\(service.signingName):\(operation): answer is not JSON: \(error)",
                             httpStatus: response.status)
        }
    }
}
