import AsyncHTTPClient
import Foundation

/// The small HTTP exchange the container and instance-metadata providers make: one request,
/// a short deadline, the whole (small) body.
struct MetadataHTTP: Sendable {
    enum Method: Sendable {
        case get
        case put
    }

    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The request never reached an answer (refused, timed out, reset). The description
    /// names the host and the kind of failure, nothing of the request's headers.
    struct TransportError: Error, CustomStringConvertible {
        var host: String
        var detail: String
        var description: String { "no answer from \(host): \(detail)" }
    }

    static let maxBodyBytes = 64 * 1024

    let client: HTTPClient
    let timeout: Duration

    func send(_ method: Method, _ url: URL, headers: [(String, String)]) async throws -> Response {
        var request = HTTPClientRequest(url: url.absoluteString)
        switch method {
        case .get: request.method = .GET
        case .put: request.method = .PUT
        }
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        let nanoseconds = Int64(timeout.seconds * 1e9)
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
            let body = try await response.body.collect(upTo: Self.maxBodyBytes)
            return Response(status: Int(response.status.code), body: Array(body.readableBytesView))
        } catch {
            throw TransportError(host: SigV4Signer.hostHeader(for: url), detail: Self.summary(of: error))
        }
    }

    /// A short, header-free account of a transport error.
    private static func summary(of error: any Error) -> String {
        let text = "\(error)"
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
