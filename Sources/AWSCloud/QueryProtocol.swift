import AWSAuth
import CloudModel
import Foundation

/// The AWS Query protocol (ELBv2, STS, IAM): a form-encoded POST of
/// `Action=<Operation>&Version=<api version>&...`, answered in XML.
struct QueryProtocol: Sendable {
    let transport: AWSTransport
    let service: AWSService
    let endpoint: URL
    let signingRegion: String

    init(transport: AWSTransport, service: AWSService, environment: AWSEnvironment) {
        self.transport = transport
        self.service = service
        self.endpoint = environment.endpoint(for: service)
        self.signingRegion = environment.signingRegion(for: service)
    }

    /// Calls `action` and returns its `<ActionResult>` element (an empty one when the
    /// answer has none). `destination` overrides the endpoint (another region).
    func call(_ action: String, _ parameters: QueryParameters = QueryParameters(),
              signing: AWSTransport.Signing = .provider,
              destination: (url: URL, signingRegion: String)? = nil) async throws -> XMLTree {
        var form = QueryParameters()
        form.add("Action", action)
        form.add("Version", service.apiVersion)
        form.append(parameters)
        let body = Array(form.encoded().utf8)
        let headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        let service = self.service
        let url = destination?.url ?? endpoint
        let region = destination?.signingRegion ?? signingRegion
        let response = try await transport.send(
            service: service, operation: action, url: url, signingRegion: region, headers: headers, body: body,
            signing: signing
        ) { status, _, body in
            AWSErrorDecoding.query(status: status, body: body, service: service, operation: action)
        }
        guard let root = XMLTree.parse(response.body) else {
            throw CloudError(code: "InvalidResponse", message: "\(service.signingName):\(action): answer is not XML: "
                                + AWSErrorDecoding.excerpt(response.body), httpStatus: response.status)
        }
        return root.child("\(action)Result") ?? XMLTree(name: "\(action)Result")
    }
}
