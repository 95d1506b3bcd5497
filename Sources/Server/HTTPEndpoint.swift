import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The HTTP port: `GET /health` (200, `OK`) and `GET /metrics` (Prometheus text).
final class HTTPEndpoint: Service, Sendable {
    let config: ServerConfig
    let metrics: ServerMetrics
    let logger: Logger
    /// `POST /hooks/git` (when GitOps is configured): poll the repository now.
    let onGitHook: (@Sendable () -> Void)?
    private let state = Mutex<(port: Result<Int, any Error>?, waiters: [CheckedContinuation<Int, any Error>])>((nil, []))

    init(config: ServerConfig, metrics: ServerMetrics, logger: Logger, onGitHook: (@Sendable () -> Void)? = nil) {
        self.onGitHook = onGitHook
        self.config = config
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        let router = Router()
        router.get("health") { _, _ in "OK" }
        if let onGitHook {
            router.post("hooks/git") { _, _ -> Response in
                onGitHook()
                return Response(status: .accepted, body: .init(byteBuffer: ByteBuffer(string: "poll scheduled\n")))
            }
        }
        if config.enableMetrics {
            let metrics = self.metrics
            router.get("metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
            }
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(config.host, port: config.metricsPort), serverName: "ecs-deploy"),
            onServerRunning: { [self] channel in bound(channel.localAddress?.port ?? config.metricsPort) },
            logger: logger)
        do {
            try await app.run()
        } catch {
            let error = ServerStartError.portInUse(error, what: "metrics", port: config.metricsPort, key: "server.metrics_port")
            fail(error)
            throw error
        }
    }

    private func bound(_ value: Int) { settle(.success(value)) }

    private func fail(_ error: any Error) { settle(.failure(error)) }

    private func settle(_ result: Result<Int, any Error>) {
        let waiters = state.withLock { s in
            defer { s.waiters = [] }
            if s.port == nil { s.port = result }
            return s.waiters
        }
        for w in waiters { w.resume(with: result) }
    }

    func boundPort() async throws -> Int {
        try await withCheckedThrowingContinuation { c in
            let ready = state.withLock { s in
                if s.port == nil { s.waiters.append(c) }
                return s.port
            }
            if let ready { c.resume(with: ready) }
        }
    }
}
