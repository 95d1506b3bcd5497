import Access
import DeployAPI
import Foundation
import GRPCCore
import MotoHarness
@testable import Server
import Testing

/// Limits that keep one caller from taking the server: calls a second, open watch streams,
/// echoed input, idle HTTP connections.
@Suite struct CallLimitTests {
    @Test func callsPastTheRateAreRefusedWithAdvice() async throws {
        let (path, tokens) = try AccessControlTests.tokens(["busy": ([.viewer], [], nil), "calm": ([.viewer], [], nil)])
        let t = try await TestServer(configure: {
            $0.security.tokensFile = path
            $0.security.callsPerSecond = 0.01
            $0.security.callBurst = 3
        }, apiToken: tokens["busy"])
        @Sendable func status() async -> RPCError? {
            do {
                _ = try await t.withAPI { api in
                    var request = Deployment_V1_GetStatusRequest()
                    request.deploymentID = "nothing"
                    return try await api.getStatus(request)
                }
                return nil
            } catch { return error as? RPCError }
        }
        for _ in 1...3 { #expect(await status()?.code == .notFound) }
        let refused = try #require(await status())
        #expect(refused.code == .resourceExhausted && refused.message.contains("retry in"), "\(refused)")
        #expect(refused.message.contains("security.rate_limit"))
        #expect(await t.client(["-token", tokens["calm"]!, "-action", "list"]).code == 0, "another caller has a bucket of its own")
        #expect(try await t.http("/metrics").body.contains(#"ecs_auth_failures_total{reason="rate_limited"} 1"#))
        try await t.stop()
    }

    @Test func watchStreamsPerCallerAreCapped() async throws {
        var settings = AccessControlTests.autoCreate
        settings.autoCreate = true
        let t = try await TestServer(configure: { $0.security.maxWatchesPerCaller = 1 }, simulator: settings)
        #expect(await t.client(AccessControlTests.deployArgs("w1")).code == 0)
        // A watch of a deployment waiting for approval stays open; its first event says it is.
        let (opened, signal) = AsyncStream<Void>.makeStream()
        let first = Task {
            try await t.withAPI { api in
                var request = Deployment_V1_WatchRequest()
                request.deploymentID = "w1"
                return try await api.watchDeployment(request) { response in
                    var last = ""
                    for try await event in response.messages {
                        signal.yield()
                        last = event.type
                    }
                    return last
                }
            }
        }
        for await _ in opened { break }
        let second = await t.client(["-id", "w1", "-action", "watch"])
        #expect(second.text.contains("has 1 watch streams open (security.max_watches_per_caller)"), "\(second.text)")
        #expect(await t.client(["-id", "w1", "-action", "reject", "-approver", "ops", "-reason", "done"]).code == 0)
        #expect(try await first.value == "deployment.rejected")
        #expect(await t.client(["-id", "w1", "-action", "watch"]).text.contains("REJECTED"), "the slot is free again")
        try await t.stop()
    }

    @Test func hugeInputIsNotEchoed() async throws {
        let t = try await TestServer()
        let id = String(repeating: "x", count: 5 << 20)
        let r = await t.client(["-id", id, "-action", "status"])
        #expect(r.code == 1 && r.text.contains("(INVALID_ARGUMENT)"), "\(r.text.prefix(300))")
        #expect(r.text.utf8.count < 500, "\(r.text.utf8.count) bytes")
        try await t.stop()
    }

    @Test func idleHTTPConnectionsAreClosed() async throws {
        let t = try await TestServer(configure: { $0.httpIdleTimeout = .milliseconds(200) })
        let closed = try await offThePool { () -> Bool in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(t.httpPort).bigEndian)
            inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
            let connected = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { return false }
            // Nothing sent: the server closes the connection (recv answers 0) well before 20 s.
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 20_000) > 0 else { return false }
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, 0) == 0
        }
        #expect(closed)
        #expect(try await t.http("/health").body == "OK")
        try await t.stop()
    }
}
