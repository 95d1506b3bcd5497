@testable import AWSAuth
import Foundation
import Testing

@Suite("ECS container credentials")
struct ContainerCredentialProviderTests {
    static let document = """
        {"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"\(Planted.secret)","Token":"\(Planted.token)",
         "Expiration":"2030-01-02T03:04:05Z","RoleArn":"arn:aws:iam::123456789012:role/task"}
        """

    static func respond(_ request: StubRequest) -> StubResponse {
        request.uri == "/v2/credentials/abc-123" || request.uri == "/creds" ? .ok(document) : .notFound
    }

    @Test func relativeURI() async throws {
        try await withStubServer(Self.respond) { server async throws in
            try await withHTTPClient { client async throws in
                let provider = ContainerCredentialProvider(
                    environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc-123"],
                    httpClient: client, timeout: .seconds(30),
                    relativeBase: try #require(URL(string: server.baseURL)))
                let credentials = try await provider.credentials()
                #expect(credentials.accessKeyID == "ASIACONTAINER")
                #expect(credentials.secretAccessKey == Planted.secret)
                #expect(credentials.sessionToken == Planted.token)
                #expect(credentials.expiration == Date(timeIntervalSince1970: 1_893_553_445))
                #expect(credentials.source == "ecs container")
                let request = try #require(server.requests.first)
                #expect(server.requests.count == 1)
                #expect(request.method == "GET")
                #expect(request.uri == "/v2/credentials/abc-123")
                #expect(request.header("Authorization") == nil)
            }
        }
    }

    /// The relative URI wins over the full URI; without a base given, it targets 169.254.170.2.
    @Test func relativeWinsOverFull() async throws {
        try await withHTTPClient { client async throws in
            let provider = ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "v2/credentials/x",
                              "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds"],
                httpClient: client)
            #expect(try provider.endpoint().absoluteString == "http://169.254.170.2/v2/credentials/x")
        }
    }

    @Test func fullURIWithTokenFromVariable() async throws {
        try await withStubServer(Self.respond) { server async throws in
            try await withHTTPClient { client async throws in
                let provider = ContainerCredentialProvider(
                    environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds",
                                  "AWS_CONTAINER_AUTHORIZATION_TOKEN": Planted.containerToken],
                    httpClient: client, timeout: .seconds(30))
                #expect(try await provider.credentials().accessKeyID == "ASIACONTAINER")
                #expect(server.requests.first?.header("Authorization") == Planted.containerToken)
            }
        }
    }

    /// The token file wins over the token variable, and is read on every call.
    @Test func tokenFileWinsAndIsReread() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let tokenFile = try dir.write("token", "file-token-1\n")
        try await withStubServer(Self.respond) { server async throws in
            try await withHTTPClient { client async throws in
                let provider = ContainerCredentialProvider(
                    environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds",
                                  "AWS_CONTAINER_AUTHORIZATION_TOKEN": "variable-token",
                                  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile],
                    httpClient: client, timeout: .seconds(30))
                _ = try await provider.credentials()
                try dir.write("token", "file-token-2")
                _ = try await provider.credentials()
                #expect(server.requests.map { $0.header("Authorization") } == ["file-token-1", "file-token-2"])
            }
        }
    }

    @Test func notConfiguredWithoutVariables() async throws {
        try await withHTTPClient { client async throws in
            let error = try await #require(throws: CredentialError.self) {
                try await ContainerCredentialProvider(environment: [:], httpClient: client).credentials()
            }
            guard case .notConfigured(let provider, _) = error else { Issue.record("\(error)"); return }
            #expect(provider == "ecs container")
        }
    }

    @Test(arguments: [
        ("http://10.0.0.5/creds", "http is allowed only to loopback"),
        ("ftp://127.0.0.1/creds", "unsupported scheme"),
        ("not a url", "not an absolute URL"),
    ])
    func fullURIRules(_ uri: String, _ expected: String) async throws {
        try await withHTTPClient { client async throws in
            let error = try await #require(throws: CredentialError.self) {
                try await ContainerCredentialProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri],
                                                      httpClient: client).credentials()
            }
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func plainHTTPHosts() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "[::1]", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"] {
            #expect(ContainerCredentialProvider.allowsPlainHTTP(host: host), "\(host)")
        }
        for host in ["10.0.0.1", "127.0.0.1.evil.com", "128.0.0.1", "example.com", "169.254.169.254"] {
            #expect(!ContainerCredentialProvider.allowsPlainHTTP(host: host), "\(host)")
        }
    }

    @Test func errorsNameNoSecret() async throws {
        let cases: [(StubResponse, String)] = [
            (StubResponse(status: 500, body: #"{"message":"\#(Planted.secret)"}"#), "answered HTTP 500"),
            (.ok("not json \(Planted.secret)"), "not a JSON credentials document"),
            (.ok(#"{"AccessKeyId":"ASIA","Token":"\#(Planted.token)"}"#), "lacks SecretAccessKey"),
            (.ok(#"{"AccessKeyId":"ASIA","SecretAccessKey":"\#(Planted.secret)","Expiration":"soon"}"#),
             "Expiration is not an ISO 8601 time"),
        ]
        for (response, expected) in cases {
            try await withStubServer({ _ in response }) { server async throws in
                try await withHTTPClient { client async throws in
                    let provider = ContainerCredentialProvider(
                        environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds",
                                      "AWS_CONTAINER_AUTHORIZATION_TOKEN": Planted.containerToken],
                        httpClient: client, timeout: .seconds(30))
                    let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
                    guard case .failed(_, let reason) = error else { Issue.record("\(error)"); return }
                    #expect(reason.contains(expected), "\(reason)")
                    #expect(Planted.leaks(in: renderings(of: error)).isEmpty, "\(renderings(of: error))")
                }
            }
        }
    }

    /// Nothing listening: the provider fails within its deadline, naming the host. (The HTTP
    /// client retries refused connections until the deadline, so the test sets a short one.)
    @Test func unreachableEndpointFails() async throws {
        let server = try await StubHTTPServer.start { _ in .notFound }
        let closedPort = server.port
        await server.stop()
        try await withHTTPClient { client async throws in
            let provider = ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(closedPort)/creds",
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN": Planted.containerToken],
                httpClient: client, timeout: .milliseconds(200))
            let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
            guard case .failed(_, let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("127.0.0.1:\(closedPort)"), "\(reason)")
            #expect(Planted.leaks(in: renderings(of: error)).isEmpty)
        }
    }
}
