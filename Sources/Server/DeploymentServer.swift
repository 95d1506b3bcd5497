import Access
import Audit
import CloudModel
import DeployAPI
import Engine
import Foundation
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import Hummingbird
import Logging
import Notify
import ServiceLifecycle
import Synchronization
import UnixSignals
import CloudRuntime

/// The whole server: engine, gRPC API (with the health service), and the HTTP endpoint for
/// /health and /metrics, run together under ServiceLifecycle with graceful shutdown.
public final class DeploymentServer: Sendable {
    public let config: ServerConfig
    public let engine: DeploymentEngine
    public let releases: ReleaseManager
    let gitops: GitOpsService?
    public let metrics: ServerMetrics
    let logger: Logger
    let clock: any DeployClock
    /// The time on records (see `EngineEnvironment.wallClock`).
    let wallClock: any DeployClock
    /// The network transport (nil when the server is served in process).
    private let grpcTransport: HTTP2ServerTransport.Posix?
    private let grpcServer: any GRPCServing
    private let http: HTTPEndpoint
    private let group: Mutex<ServiceGroup?> = Mutex(nil)
    private let stopping = StopFlag()
    /// Tells people of deployments and releases (`notifications.routes`; nil without routes).
    let notifier: Notifier?
    /// API tokens, read again on `reloadCredentials()` (SIGHUP) and when the file changes.
    let tokens: TokenStore?

    /// - Parameters:
    ///   - cloud: the cloud to deploy to (the simulator in mock mode), without retries or pacing:
    ///     the server adds both, and the metrics, around it.
    ///   - clock: the engine's time source.
    ///   - wallClock: the time written on records; `clock` when nil (mock mode's runs faster).
    ///   - preflight: checks made before a deployment is accepted (real AWS).
    ///   - store: where deployment records live (SQLite in the server; memory in some tests).
    ///   - releaseStore: where release records live (the same SQLite file in the server).
    ///   - observers: more observers of every deployment event (the audit log).
    ///   - releaseObservers: more observers of every release event (the audit log).
    ///   - audit: where refused calls and policy overrides are written (the audit log).
    ///   - inProcess: serve the gRPC API on this in-process transport instead of the network
    ///     (tests: no port is opened for it; `server.host`, `server.port` and TLS are not used).
    public init(config: ServerConfig, cloud: Cloud, clock: any DeployClock, wallClock: (any DeployClock)? = nil, logger: Logger,
                preflight: (any DeploymentPreflight)? = nil, store: any DeploymentStore = InMemoryDeploymentStore(),
                releaseStore: any ReleaseStore = InMemoryReleaseStore(),
                observers: [any DeploymentObserver] = [], releaseObservers: [any ReleaseObserver] = [],
                audit: AuditLog? = nil, outbox: (any NoticeOutbox)? = nil, inProcess: InProcessTransport.Server? = nil) throws {
        self.clock = clock
        self.wallClock = wallClock ?? clock
        self.config = config
        self.logger = logger
        let metrics = ServerMetrics()
        self.metrics = metrics
        let retry = RetryMiddleware(policy: config.retryPolicy, clock: clock, onRetry: { event in
            logger.notice("retrying \(event.call) (retry \(event.retry), after \(GoDuration.format(event.delay))): \(event.error)")
        })
        let layers: [any CloudMiddleware] = [retry, RateLimiterMiddleware(limits: config.rateLimits, clock: clock), MetricsMiddleware(metrics: metrics)]
        let network = NetworkHooks(client: .shared, definitions: config.hookDefinitions)
        // The pre-flight's own AWS calls (STS, IAM) are counted with the others.
        (preflight as? AWSPreflightCheck)?.calls.attach { metrics.apiCall(service: $0, operation: $1, milliseconds: $2) }
        // DescribeServices calls merged above the rate limiter: one token serves up to 10 services.
        let layered = MiddlewareCloud(cloud, middleware: layers).cloud.coalescingServiceReads(clock: clock)
        let notifier = config.notifications.routes.isEmpty ? nil
            : Notifier(routes: config.notifications.routes, settings: config.notifications.settings, poster: network,
                       topics: layered.topics, logger: logger, drainTimeout: config.gracefulTimeout, outbox: outbox) {
                metrics.notification(sink: $0, result: $1)
            }
        self.notifier = notifier
        let notifiers = notifier.map { [$0] } ?? []
        let memory = MemoryRelease()
        // The dashboard's live overview.
        let feed = DashboardFeed()
        let environment = EngineEnvironment(cloud: layered, clock: clock, store: store, hooks: network,
                                            probe: network, preflight: preflight,
                                            observers: [MetricsObserver(metrics: metrics)] + observers + notifiers + [memory, feed], logger: logger,
                                            wallClock: self.wallClock, analysisTemplates: config.analysis.templates,
                                            metrics: PrometheusQuery(settings: config.analysis.prometheus, client: .shared),
                                            pricing: config.prices.map { Pricing(table: $0, region: config.region) })
        self.engine = DeploymentEngine(environment: environment, defaults: config.deployment, drainTimeout: config.gracefulTimeout,
                                       limits: config.limits, windows: config.windows)
        memory.attach(engine)
        self.releases = ReleaseManager(engine: engine, environment: environment, store: releaseStore,
                                       observers: [ReleaseMetricsObserver(metrics: metrics)] + releaseObservers + notifiers + [feed])
        let allowsAnonymous = try Self.anonymousAllowed(config, logger: logger)
        let security = SecurityAuditor(audit: audit, logger: logger)
        let access = AccessControl(
            policy: AccessPolicy(bindings: config.security.bindings, anonymousIsAdmin: !config.security.authenticates && allowsAnonymous,
                                 approvalRules: config.security.approvalRules),
            requests: RequestPolicy(defaults: config.deployment, hookDefinitions: config.hookDefinitions,
                                    urls: URLPolicy(allowedPrefixes: config.security.allowedURLPrefixes ?? (config.mockMode ? nil : []))),
            metrics: metrics, audit: { security.record($0) })
        if let git = config.gitops {
            let state = URL(fileURLWithPath: config.storagePath).deletingLastPathComponent().appendingPathComponent("gitops")
            gitops = try GitOpsService(config: git, stateDirectory: state, releases: releases, access: access, clock: clock, logger: logger)
        } else {
            gitops = nil
        }
        tokens = try config.security.tokensFile.map { path in
            try TokenStore(path: path, onReload: { result in
                switch result {
                case .success(let count): logger.info("read \(count) API token(s) from \(path)")
                case .failure(let error): logger.error("API tokens refused until the file is fixed: \(error)")
                }
            })
        }
        let jwt = try config.security.oidc.map { settings in
            try JWTVerifier(settings: settings, fetch: { url in try await NetworkHooks(client: .shared).fetch(url) })
        }
        let authenticator = Authenticator(tokens: tokens, jwt: jwt, allowsAnonymous: allowsAnonymous)
        let limiter = CallRateLimiter(perSecond: config.security.callsPerSecond, burst: config.security.callBurst)
        let interceptor = AuthInterceptor(authenticator: authenticator, limiter: limiter, metrics: metrics) { reason, method, peer in
            security.record(.init(type: "auth.refused", principal: "unauthenticated", scope: "",
                                  detail: "\(method) from \(peer): \(reason)"))
        }
        let stopping = self.stopping
        let api = DeploymentAPIService(engine: engine, releases: releases, metrics: metrics, maxRequestBytes: config.maxRequestBytes,
                                       access: access, watches: PerCallerSlots(limit: config.security.maxWatchesPerCaller))
        let health = HealthService(isServing: { !stopping.isSet })
        if let inProcess {
            grpcTransport = nil
            grpcServer = GRPCServer(transport: inProcess, services: [api, health], interceptors: [interceptor])
        } else {
            let network = try Self.networkTransport(config)
            grpcTransport = network
            grpcServer = GRPCServer(transport: network, services: [api, health], interceptors: [interceptor])
        }
        var onGitHook: (@Sendable () -> Void)?
        if let git = gitops { onGitHook = { git.trigger() } }
        var signOn: DashboardSignOn?
        if let settings = config.dashboardOIDC {
            guard let oidc = config.security.oidc else {
                throw ConfigError("dashboard.oidc: needs auth.oidc (the issuer and its keys)")
            }
            signOn = try DashboardSignOn(settings: settings, oidc: oidc)
        }
        let dashboard = config.dashboardEnabled
            ? Dashboard(api: api, authenticator: authenticator, metrics: metrics, audit: audit, feed: feed, signOn: signOn,
                        prefix: config.dashboardPrefix) : nil
        http = HTTPEndpoint(config: config, metrics: metrics, logger: logger, onGitHook: onGitHook, dashboard: dashboard)
    }

    /// Reads the API tokens file again (SIGHUP).
    public func reloadCredentials() { tokens?.reload() }

    /// Secure by default: with no authentication configured, anonymous callers are served only
    /// in mock mode, on a loopback address, or with `auth.allow_anonymous` (warned at start).
    static func anonymousAllowed(_ config: ServerConfig, logger: Logger) throws -> Bool {
        if config.security.authenticates { return config.security.allowAnonymous }
        if config.mockMode || isLoopback(config.host) { return true }
        guard config.security.allowAnonymous else {
            throw ConfigError("refusing to start: anyone who reaches \(config.host):\(config.port) could deploy, approve and roll back. "
                + "Configure authentication (auth.tokens_file, auth.oidc or tls.client_ca_file; see the README's Security section), "
                + "listen on a loopback address (server.host: 127.0.0.1), or set auth.allow_anonymous: true")
        }
        logger.warning("auth.allow_anonymous: every caller that reaches \(config.host):\(config.port) may deploy, approve and roll back")
        return true
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// HTTP/2 over TCP on `server.host:server.port`, with TLS from the config.
    static func networkTransport(_ config: ServerConfig) throws -> HTTP2ServerTransport.Posix {
        var transportConfig = HTTP2ServerTransport.Posix.Config.defaults
        // A hard cap at the transport (above it the stream is reset); below it, requests over
        // `max_request_bytes` get a clear RESOURCE_EXHAUSTED from the service.
        transportConfig.rpc.maxRequestPayloadSize = max(16 << 20, config.maxRequestBytes * 4)
        // Advertised, so that a client queues streams past it instead of having its connection
        // closed; idle connections are closed.
        transportConfig.http2.maxConcurrentStreams = 100
        transportConfig.connection.maxIdleTime = .seconds(15 * 60)
        return HTTP2ServerTransport.Posix(address: .ipv4(host: config.host, port: config.port),
                                          transportSecurity: try transportSecurity(config), config: transportConfig)
    }

    static func transportSecurity(_ config: ServerConfig) throws -> HTTP2ServerTransport.Posix.TransportSecurity {
        guard let cert = config.tlsCertFile, let key = config.tlsKeyFile else {
            if config.security.clientCAFile != nil {
                throw ConfigError("tls.client_ca_file needs TLS: set tls.cert_file and tls.key_file (or TLS_CERT_FILE and TLS_KEY_FILE)")
            }
            return .plaintext
        }
        let ca = config.security.clientCAFile
        for (name, path) in [("TLS certificate", cert), ("TLS key", key), ("client CA", ca ?? cert)]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw ConfigError("\(name) \(path) cannot be read")
        }
        guard let ca else {
            return .tls(certificateChain: [.file(path: cert, format: .pem)], privateKey: .file(path: key, format: .pem))
        }
        // mTLS: a client must present a certificate signed by the CA.
        return .mTLS(certificateChain: [.file(path: cert, format: .pem)], privateKey: .file(path: key, format: .pem)) { tls in
            tls.trustRoots = .certificates([.file(path: ca, format: .pem)])
            tls.clientCertificateVerification = .noHostnameVerification
        }
    }

    /// Runs until a graceful shutdown (a signal in `signals`, or `shutdown()`), then stops
    /// accepting work, lets in-flight RPCs and deployments finish within `graceful_timeout`,
    /// records the ones that could not, and returns.
    ///
    /// The services stop one by one, in the reverse of their order here: the health check says
    /// NOT_SERVING; the git poller stops; the release manager stops starting entries and drains
    /// the engine (`ReleaseManager.shutdown`); the engine's work ends; the notifier sends what it
    /// holds; the gRPC server stops (its streams ended with the work); the HTTP port (metrics)
    /// last.
    public func run(signals: [UnixSignal] = []) async throws {
        try await recover()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: http),
            .init(service: GRPCService(server: grpcServer, config: config)),
        ]
        // Stopped after the engine: the last events' notices are sent (within graceful_timeout).
        if let notifier { services.append(.init(service: notifier)) }
        services += [
            .init(service: engine),
            .init(service: releases),
        ]
        if let gitops { services.append(.init(service: gitops)) }
        services.append(.init(service: stopping))
        var groupConfig = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfig.gracefulShutdownSignals = signals
        groupConfig.maximumGracefulShutdownDuration = config.gracefulTimeout + .seconds(5)
        let group = ServiceGroup(configuration: groupConfig)
        self.group.withLock { $0 = group }
        try await group.run()
    }

    /// Deletes history past `storage.retention`, then picks up the deployments a previous run
    /// left unfinished (`recovery`), then the releases (whose entries wait on those deployments).
    func recover() async throws {
        let cutoff = wallClock.now().addingTimeInterval(-config.retention.seconds)
        let purged = try await engine.purge(finishedBefore: cutoff)
        if purged > 0 { logger.info("deleted \(purged) deployment record(s) older than \(GoDuration.format(config.retention))") }
        let purgedReleases = try await releases.purge(finishedBefore: cutoff)
        if purgedReleases > 0 { logger.info("deleted \(purgedReleases) release record(s) older than \(GoDuration.format(config.retention))") }
        let resumed = try await engine.recover(config.recovery == .rollback ? .rollback : .resume)
        if resumed > 0 { logger.info("picked up \(resumed) unfinished deployment(s) (recovery: \(config.recovery.rawValue))") }
        let resumedReleases = try await releases.recover()
        if resumedReleases > 0 { logger.info("picked up \(resumedReleases) unfinished release(s)") }
    }

    /// Starts a graceful shutdown (as SIGTERM does).
    public func shutdown() async {
        let group = self.group.withLock { $0 }
        await group?.triggerGracefulShutdown()
    }

    /// The gRPC port, once bound (useful with port 0).
    public func grpcPort() async throws -> Int {
        guard let grpcTransport else { throw ServerStartError(message: "the gRPC server is served in process, on no port") }
        let address = try await grpcTransport.listeningAddress
        if let v4 = address.ipv4 { return v4.port }
        if let v6 = address.ipv6 { return v6.port }
        throw ServerStartError(message: "the gRPC server is not listening on an IP address")
    }

    /// The HTTP port, once bound.
    public func httpPort() async throws -> Int { try await http.boundPort() }
}

/// Runs the gRPC server until the graceful shutdown reaches it (after the engine's work ended).
/// Described by its name only: ServiceLifecycle logs its services, and the config holds secrets.
struct GRPCService: Service, CustomStringConvertible {
    var description: String { "GRPCService" }

    let server: any GRPCServing
    let config: ServerConfig

    /// The handlers' threads (see `RPCExecutor`).
    private static let executor = RPCExecutor()

    func run() async throws {
        try await withTaskCancellationOrGracefulShutdownHandler {
            do {
                // The connections' and calls' tasks are children of this one: they run there.
                try await withTaskExecutorPreference(Self.executor) { try await server.serve() }
            } catch {
                throw ServerStartError.portInUse(error, what: "gRPC", port: config.port, key: "server.port")
            }
        } onCancelOrGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}

public struct ServerStartError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    /// A bind failure said plainly; any other error unchanged.
    static func portInUse(_ error: any Error, what: String, port: Int, key: String) -> any Error {
        let text = String(describing: error)
        guard text.contains("Address already in use") || text.contains("EADDRINUSE") else { return error }
        return ServerStartError(message: "cannot start: the \(what) port \(port) is already in use "
            + "(find the process with `lsof -i :\(port)`, or set \(key) in config.yaml)")
    }
}

/// A gRPC server on whichever transport it was given (the network, or in process).
protocol GRPCServing: Sendable {
    func serve() async throws
    func beginGracefulShutdown()
}

extension GRPCServer: GRPCServing {}

/// Set once, when the server begins to stop: a service stopped first, whose run ends there.
final class StopFlag: Service, CustomStringConvertible {
    var description: String { "StopFlag" }
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }

    func run() async {
        _ = try? await gracefulShutdown()
        set()
    }
}
