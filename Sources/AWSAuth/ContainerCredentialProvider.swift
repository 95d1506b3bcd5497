import AsyncHTTPClient
import Foundation
import Logging

/// Credentials from the ECS (or EKS Pod Identity) container endpoint:
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` against http://169.254.170.2, else
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, or http to a loopback address or to the
/// ECS/EKS link-local hosts). The `Authorization` header comes from the file named by
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read on every call), else from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
public struct ContainerCredentialProvider: CredentialProvider {
    public static let name = "ecs container"
    public static let defaultBase = URL(string: "http://169.254.170.2")!
    /// Hosts that may be reached over plain http with a full URI.
    static let plainHTTPHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost", "::1"]

    private let environment: [String: String]
    private let http: MetadataHTTP
    private let relativeBase: URL
    private let logger: Logger

    /// - Parameters:
    ///   - timeout: the deadline of the whole request.
    ///   - relativeBase: where relative URIs point (tests put a loopback server here).
    public init(environment: [String: String], httpClient: HTTPClient, timeout: Duration = .seconds(5),
                relativeBase: URL = ContainerCredentialProvider.defaultBase,
                logger: Logger = Logger(label: "aws.credentials")) {
        self.environment = environment
        self.http = MetadataHTTP(client: httpClient, timeout: timeout)
        self.relativeBase = relativeBase
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials {
        let url = try endpoint()
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let token = try authorizationToken() {
            headers.append(("Authorization", token))
        }
        let host = SigV4Signer.hostHeader(for: url)
        let response: MetadataHTTP.Response
        do {
            response = try await http.send(.get, url, headers: headers)
        } catch {
            throw fail("\(error)")
        }
        guard response.status == 200 else {
            throw fail("the container endpoint at \(host) answered HTTP \(response.status)")
        }
        do {
            let credentials = try CredentialDocument.credentials(from: response.body, source: Self.name)
            logger.debug("fetched container credentials", metadata: [
                "host": "\(host)", "expiration": "\(credentials.expiration.map { "\($0)" } ?? "none")",
            ])
            return credentials
        } catch {
            throw fail("from \(host): \(error)")
        }
    }

    /// The URL to ask, from the environment.
    func endpoint() throws -> URL {
        if let relative = environment.setting("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            var base = relativeBase.absoluteString
            if base.hasSuffix("/") { base.removeLast() }
            let path = relative.hasPrefix("/") ? relative : "/" + relative
            guard let url = URL(string: base + path) else {
                throw fail("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a valid URI path")
            }
            return url
        }
        guard let full = environment.setting("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
            throw CredentialError.notConfigured(
                provider: Self.name,
                reason: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set")
        }
        guard let url = URL(string: full), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw fail("AWS_CONTAINER_CREDENTIALS_FULL_URI is not an absolute URL")
        }
        switch scheme {
        case "https":
            return url
        case "http":
            guard Self.allowsPlainHTTP(host: host) else {
                throw fail("AWS_CONTAINER_CREDENTIALS_FULL_URI uses http to \(host); http is allowed only to "
                           + "loopback addresses and the ECS/EKS container hosts")
            }
            return url
        default:
            throw fail("AWS_CONTAINER_CREDENTIALS_FULL_URI has the unsupported scheme '\(scheme)'")
        }
    }

    static func allowsPlainHTTP(host: String) -> Bool {
        var bare = host.lowercased()
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = String(bare.dropFirst().dropLast()) }
        if plainHTTPHosts.contains(bare) { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// The token file wins over the token variable, as in the SDKs.
    private func authorizationToken() throws -> String? {
        let token: String
        if let path = environment.setting("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw fail("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE at \(path)")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let value = environment.setting("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            token = value
        } else {
            return nil
        }
        if token.contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw fail("the container authorization token holds a line break")
        }
        return token.isEmpty ? nil : token
    }

    private func fail(_ reason: String) -> CredentialError {
        .failed(provider: Self.name, reason: reason)
    }
}
