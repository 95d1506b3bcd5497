import Access
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The HTTP port: `GET /health` (200, `OK`), `GET /metrics` (Prometheus text) and the dashboard.
final class HTTPEndpoint: Service, Sendable {
    let config: ServerConfig
    let metrics: ServerMetrics
    let logger: Logger
    /// `POST /hooks/git` (when GitOps is configured): poll the repository now.
    let onGitHook: (@Sendable () -> Void)?
    /// The web dashboard (`dashboard.enabled`).
    let dashboard: Dashboard?
    private let state = Mutex<(port: Result<Int, any Error>?, waiters: [CheckedContinuation<Int, any Error>])>((nil, []))

    init(config: ServerConfig, metrics: ServerMetrics, logger: Logger, onGitHook: (@Sendable () -> Void)? = nil,
         dashboard: Dashboard? = nil) {
        self.onGitHook = onGitHook
        self.dashboard = dashboard
        self.config = config
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        let router = Router()
        router.get("health") { _, _ in "OK" }
        if let onGitHook {
            let webhook = GitWebhook(secret: config.gitops?.webhookSecret, metrics: metrics, onPush: onGitHook)
            router.post("hooks/git") { request, _ -> Response in
                let (status, text) = await webhook.handle(request)
                return Response(status: status, body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
            }
        }
        if config.enableMetrics {
            let metrics = self.metrics
            router.get("metrics") { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
            }
        }
        dashboard?.register(on: router)
        // Idle connections are closed and only so many are open at once (more wait in the
        // backlog): half-open connections cannot use up the process's file descriptors.
        let idle = TimeAmount.nanoseconds(Int64(min(max(config.httpIdleTimeout.seconds, 0.001), 86400) * 1e9))
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: idle)),
            configuration: .init(address: .hostname(config.host, port: config.metricsPort), serverName: "ecs-deploy",
                                 availableConnectionsDelegate: MaximumAvailableConnections(config.httpMaxConnections)),
            onServerRunning: { [self] channel in bound(channel.localAddress?.port ?? config.metricsPort) },
            logger: logger)
        do {
            // The dashboard's open overviews end with the server (their streams would hold the port open).
            try await withGracefulShutdownHandler { try await app.run() } onGracefulShutdown: { [dashboard] in dashboard?.feed.finish() }
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

/// `POST /hooks/git`: with `gitops.webhook_secret`, only a push signed with it (GitHub's
/// `X-Hub-Signature-256`) or carrying it (GitLab's `X-Gitlab-Token`) schedules a poll; anything
/// else is 401. Bodies over 1 MiB are refused; at most 10 polls a minute are scheduled (429 past).
final class GitWebhook: Sendable {
    let signature: WebhookSignature?
    let metrics: ServerMetrics
    let onPush: @Sendable () -> Void
    static let maxBody = 1 << 20
    static let perMinute = 10
    private let window = Mutex<(minute: Int, count: Int)>((0, 0))

    init(secret: String?, metrics: ServerMetrics, onPush: @escaping @Sendable () -> Void) {
        signature = secret.map(WebhookSignature.init)
        self.metrics = metrics
        self.onPush = onPush
    }

    func handle(_ request: Request) async -> (HTTPResponse.Status, String) {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: Self.maxBody) } catch {
            return (.contentTooLarge, "the body is over \(Self.maxBody) bytes")
        }
        if let signature {
            let header = { (name: String) in request.headers.first { $0.name.canonicalName == name }?.value }
            let accepted = signature.accepts(body: Array(body.readableBytesView), githubSignature: header("x-hub-signature-256"),
                                             gitlabToken: header("x-gitlab-token"))
            guard accepted else {
                metrics.authFailure(reason: "bad_webhook_signature")
                return (.unauthorized, "signature missing or wrong")
            }
        }
        let minute = Int(Date().timeIntervalSince1970 / 60)
        let allowed = window.withLock { w in
            if w.minute != minute { w = (minute, 0) }
            w.count += 1
            return w.count <= Self.perMinute
        }
        guard allowed else { return (.tooManyRequests, "too many webhook calls; the repository is polled anyway") }
        onPush()
        return (.accepted, "poll scheduled")
    }
}
