import Foundation
@testable import Server
import Testing

/// Each TLS mistake gets an error that says which one it is and what to do.
@Suite struct TLSErrorTests {
    static let mtls = TestServer.fixtures.appendingPathComponent("mtls")
    static func file(_ name: String) -> String { mtls.appendingPathComponent(name).path }

    @Test func mistakesAreNamed() async throws {
        let tls = try await TestServer(configure: {
            $0.tlsCertFile = Self.file("server-cert.pem")
            $0.tlsKeyFile = Self.file("server-key.pem")
        })
        let plain = try await TestServer(network: true)
        let mutual = try await TestServer(configure: {
            $0.tlsCertFile = Self.file("server-cert.pem")
            $0.tlsKeyFile = Self.file("server-key.pem")
            $0.security.clientCAFile = Self.file("ca.pem")
        })
        let cases: [(String, TestServer, [String])] = [
            ("it probably serves TLS; connect with -tls", tls, []),
            ("does not speak TLS: connect without -tls", plain, ["-ca", Self.file("ca.pem")]),
            ("certificate at 127.0.0.1:\(tls.port) is not trusted: pass -ca", tls, ["-ca", Self.file("other-ca.pem")]),
            ("requires a client certificate (mTLS): pass -cert and -key", mutual, ["-ca", Self.file("ca.pem")]),
            ("refused the client certificate (-cert): it is not signed by a CA the server trusts", mutual, ["-ca", Self.file("ca.pem"), "-cert", Self.file("mallory-cert.pem"), "-key", Self.file("mallory-key.pem")]),
            ("refused the client certificate (-cert): it has expired", mutual, ["-ca", Self.file("ca.pem"), "-cert", Self.file("expired-cert.pem"), "-key", Self.file("expired-key.pem")]),
        ]
        for (expected, server, args) in cases {
            let r = await server.client(args + ["-action", "list"])
            #expect(r.code == 1 && r.text.contains(expected), "\(r.text)")
        }
        for t in [tls, plain, mutual] { try await t.stop() }
    }
}
