@testable import AWSAuth
import Foundation
import Testing

@Suite("EC2 instance metadata credentials")
struct InstanceMetadataCredentialProviderTests {
    static let document = """
        {"Code":"Success","LastUpdated":"2030-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS",
         "SecretAccessKey":"\(Planted.secret)","Token":"\(Planted.token)","Expiration":"2030-01-01T06:00:00Z"}
        """

    /// A metadata service: IMDSv2 only (requests without the session token get 401).
    static func imds(role: String? = "deploy-role", document: String = document,
                     tokenStatus: Int = 200) -> @Sendable (StubRequest) -> StubResponse {
        { request in
            switch (request.method, request.uri) {
            case ("PUT", "/latest/api/token"):
                guard request.header("X-aws-ec2-metadata-token-ttl-seconds") != nil else {
                    return StubResponse(status: 400, body: "")
                }
                return StubResponse(status: tokenStatus, body: tokenStatus == 200 ? Planted.imdsToken : "")
            case (_, _) where request.header("X-aws-ec2-metadata-token") != Planted.imdsToken:
                return StubResponse(status: 401, body: "")
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                guard let role else { return .notFound }
                return .ok(role + "\n")
            case ("GET", "/latest/meta-data/iam/security-credentials/\(role ?? "")"):
                return .ok(document)
            default:
                return .notFound
            }
        }
    }

    @Test func tokenThenRoleThenCredentials() async throws {
        try await withStubServer(Self.imds()) { server async throws in
            try await withHTTPClient { client async throws in
                let provider = InstanceMetadataCredentialProvider(
                    environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL], httpClient: client, timeout: .seconds(30))
                let credentials = try await provider.credentials()
                #expect(credentials.accessKeyID == "ASIAIMDS")
                #expect(credentials.secretAccessKey == Planted.secret)
                #expect(credentials.sessionToken == Planted.token)
                #expect(credentials.expiration == Date(timeIntervalSince1970: 1_893_477_600))
                #expect(credentials.source == "imds (role deploy-role)")

                let requests = server.requests
                #expect(requests.map { "\($0.method) \($0.uri)" } == [
                    "PUT /latest/api/token",
                    "GET /latest/meta-data/iam/security-credentials/",
                    "GET /latest/meta-data/iam/security-credentials/deploy-role",
                ])
                #expect(requests[0].header("X-aws-ec2-metadata-token-ttl-seconds") == "21600")
                #expect(requests[0].header("X-aws-ec2-metadata-token") == nil)
                #expect(requests.dropFirst().allSatisfy { $0.header("X-aws-ec2-metadata-token") == Planted.imdsToken })
            }
        }
    }

    @Test func endpointChoice() async throws {
        try await withHTTPClient { client async throws in
            func endpoint(_ env: [String: String]) throws -> String {
                try InstanceMetadataCredentialProvider(environment: env, httpClient: client).endpoint().absoluteString
            }
            #expect(try endpoint([:]) == "http://169.254.169.254")
            #expect(try endpoint(["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"]) == "http://[fd00:ec2::254]")
            #expect(try endpoint(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:8111/",
                                  "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"]) == "http://127.0.0.1:8111/")
            #expect(throws: CredentialError.self) { try endpoint(["AWS_EC2_METADATA_SERVICE_ENDPOINT": "nope"]) }
        }
    }

    @Test func disabledMakesNoRequest() async throws {
        try await withStubServer(Self.imds()) { server async throws in
            try await withHTTPClient { client async throws in
                for value in ["true", "TRUE", "True"] {
                    let provider = InstanceMetadataCredentialProvider(
                        environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL,
                                      "AWS_EC2_METADATA_DISABLED": value],
                        httpClient: client)
                    let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
                    #expect(error == .notConfigured(provider: "ec2 instance metadata",
                                                    reason: "disabled by AWS_EC2_METADATA_DISABLED"))
                }
                #expect(server.requests.isEmpty)
                // Any other value leaves the provider on.
                let provider = InstanceMetadataCredentialProvider(
                    environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL,
                                  "AWS_EC2_METADATA_DISABLED": "false"],
                    httpClient: client, timeout: .seconds(30))
                #expect(try await provider.credentials().accessKeyID == "ASIAIMDS")
            }
        }
    }

    @Test func noRoleIsNotConfigured() async throws {
        try await withStubServer(Self.imds(role: nil)) { server async throws in
            try await withHTTPClient { client async throws in
                let provider = InstanceMetadataCredentialProvider(
                    environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL], httpClient: client, timeout: .seconds(30))
                let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
                guard case .notConfigured(_, let reason) = error else { Issue.record("\(error)"); return }
                #expect(reason.contains("no IAM role"))
            }
        }
    }

    @Test func unreachableIsNotConfigured() async throws {
        let server = try await StubHTTPServer.start { _ in .notFound }
        let closedPort = server.port
        await server.stop()
        try await withHTTPClient { client async throws in
            let provider = InstanceMetadataCredentialProvider(
                environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(closedPort)"],
                httpClient: client, timeout: .milliseconds(200))
            let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
            guard case .notConfigured(_, let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("the metadata service is unreachable: no answer from 127.0.0.1:\(closedPort)"),
                    "\(reason)")
        }
    }

    @Test func failuresNameNoSecret() async throws {
        let cases: [(@Sendable (StubRequest) -> StubResponse, String)] = [
            (Self.imds(tokenStatus: 500), "answered the token request with HTTP 500"),
            (Self.imds(document: #"{"Code":"AssumeRoleUnauthorizedAccess","Message":"\#(Planted.secret)"}"#),
             "Code is 'AssumeRoleUnauthorizedAccess'"),
            (Self.imds(document: "<html>\(Planted.token)</html>"), "not a JSON credentials document"),
            (Self.imds(role: "bad role/../x"), "named no usable role"),
        ]
        for (respond, expected) in cases {
            try await withStubServer(respond) { server async throws in
                try await withHTTPClient { client async throws in
                    let provider = InstanceMetadataCredentialProvider(
                        environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL], httpClient: client, timeout: .seconds(30))
                    let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
                    guard case .failed(_, let reason) = error else { Issue.record("\(error)"); return }
                    #expect(reason.contains(expected), "\(reason)")
                    #expect(Planted.leaks(in: renderings(of: error)).isEmpty, "\(renderings(of: error))")
                }
            }
        }
    }

    @Test func refusedTokenIsNotConfigured() async throws {
        try await withStubServer(Self.imds(tokenStatus: 403)) { server async throws in
            try await withHTTPClient { client async throws in
                let provider = InstanceMetadataCredentialProvider(
                    environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL], httpClient: client, timeout: .seconds(30))
                let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
                guard case .notConfigured = error else { Issue.record("\(error)"); return }
                #expect(server.requests.count == 1)
            }
        }
    }
}
