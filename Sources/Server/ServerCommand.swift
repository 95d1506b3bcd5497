import Access
import AWSCloud
import Audit
import Store
import CloudModel
import CloudRuntime
import Engine
import Foundation
import Logging
import Simulator
import Synchronization
import UnixSignals

/// `grpc-server [-config FILE]`: reads the config, builds the cloud, serves until SIGTERM or
/// SIGINT, and exits 0 after a graceful shutdown.
public enum ServerCommand {
    public static let usage = """
        usage: grpc-server [-config FILE]
               grpc-server audit verify FILE [--key-file KEY] [--expect-last-seq N]
               grpc-server audit acknowledge --reason TEXT [-config FILE]
               grpc-server token create NAME --role ROLE [--role ROLE] [--scope PATTERN ...] [--email ADDRESS] [-config FILE]
               grpc-server simulate [-port N] [-config FILE]
          -config FILE   config.yaml to read (default: $CONFIG_FILE, else ./config.yaml if present)
          token create   adds an API token to auth.tokens_file (only its SHA-256 is stored) and prints
                         the token once, on the last line; roles: viewer, deployer, approver, admin;
                         scopes: cluster/service patterns (prod/*, staging/api-*), default: all
          simulate       serves the mock-mode simulator as a local AWS endpoint (ECS, STS) on -port
                         (default 4566), for AWS_ENDPOINT_URL
        environment: MOCK_MODE, AWS_REGION, AWS_ENDPOINT_URL, LOG_LEVEL, TLS_CERT_FILE, TLS_KEY_FILE, CONFIG_FILE
        """

    public static func main(arguments: [String], environment: [String: String]) async -> Int32 {
        if arguments.first == "audit" { return auditCommand(Array(arguments.dropFirst()), environment: environment) }
        if arguments.first == "token" { return tokenCommand(Array(arguments.dropFirst()), environment: environment) }
        if arguments.first == "simulate" { return await SimulateCommand.main(Array(arguments.dropFirst()), environment: environment) }
        var configPath = environment["CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        var args = arguments[...]
        while let arg = args.popFirst() {
            switch arg {
            case "-config", "--config":
                guard let path = args.popFirst() else { return fail("-config needs a file path") }
                configPath = path
            case "-h", "-help", "--help":
                print(usage)
                return 0
            default:
                return fail("unknown argument '\(arg)'\n\(usage)")
            }
        }
        if configPath == nil, FileManager.default.fileExists(atPath: "config.yaml") { configPath = "config.yaml" }
        var config: ServerConfig
        do { config = try ServerConfig.load(path: configPath, environment: environment) } catch {
            return fail("\(error)")
        }
        bootstrapLogging(config.logLevel)
        // The rollouts' threads yield to the API's under load (see `WorkerThreads`).
        WorkerThreads.niceness.store(10, ordering: .relaxed)
        let logger = Logger(label: "ecs-deploy")
        do {
            let target = try makeCloud(config, environment: environment, logger: logger)
            if config.refreshPrices, let list = target.priceList, let table = config.prices {
                config.prices = await PriceRefresh.refreshed(table, region: config.region, from: list, logger: logger)
            }
            let server = try DeploymentServer.standard(config: config, target: target, logger: logger)
            // SIGHUP reads the API tokens file again (and no longer ends the server).
            let reloads = Task {
                for await _ in await UnixSignalsSequence(trapping: .sighup) {
                    logger.info("SIGHUP: reading credentials again")
                    server.reloadCredentials()
                }
            }
            defer { reloads.cancel() }
            async let running: Void = server.run(signals: [.sigterm, .sigint])
            Task {
                guard let grpc = try? await server.grpcPort(), let http = try? await server.httpPort() else { return }
                let tls = config.tlsCertFile == nil ? "plaintext" : "TLS"
                logger.info("gRPC API listening on \(config.host):\(grpc) (\(tls)); HTTP /health and /metrics on \(config.host):\(http)")
                logger.info("\(target.description)")
                logger.info("history in \(config.storagePath), audit log in \(config.effectiveAuditPath)")
            }
            try await running
            target.flush?()
            logger.info("stopped")
            return 0
        } catch {
            return fail("\(error)")
        }
    }

    /// Log lines to standard error, from `level` up.
    static func bootstrapLogging(_ level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }

    /// Where deployments go: the simulator in mock mode, else AWS.
    public struct Target: Sendable {
        public init(cloud: Cloud, clock: any DeployClock, wallClock: any DeployClock = SystemClock(),
                    preflight: (any DeploymentPreflight)? = nil, description: String, flush: (@Sendable () -> Void)? = nil) {
            self.cloud = cloud
            self.clock = clock
            self.wallClock = wallClock
            self.preflight = preflight
            self.description = description
            self.flush = flush
        }

        /// Run once the server has stopped (mock mode: the simulator's state saved at once).
        public var flush: (@Sendable () -> Void)?

        public var cloud: Cloud
        public var clock: any DeployClock
        /// The time on records: the wall clock (in mock mode `clock` runs faster).
        public var wallClock: any DeployClock = SystemClock()
        public var preflight: (any DeploymentPreflight)?
        public var description: String
        /// AWS mode: the Price List API (`pricing.refresh`).
        public var priceList: (any PriceListAPI)?
    }

    public static func makeCloud(_ config: ServerConfig, environment: [String: String], logger: Logger) throws -> Target {
        if config.mockMode {
            let (simulator, description) = makeSimulator(config, logger: logger)
            return Target(cloud: simulator.cloud, clock: simulator.clock, preflight: nil, description: description,
                          flush: { simulator.flushStateFile() })
        }
        let clock: any DeployClock
        if config.endpointSpeedup != 1 {
            guard config.endpointURL != nil else {
                throw ConfigError("aws.endpoint_speedup: \(config.endpointSpeedup) needs aws.endpoint_url (or AWS_ENDPOINT_URL): the clock runs fast only against a simulator")
            }
            clock = ScaledClock(speedup: config.endpointSpeedup)
        } else {
            clock = SystemClock()
        }
        let factory = try AWSCloudFactory.standard(environment: environment, configuredRegion: config.region,
                                                   configuredEndpoint: config.endpointURL, timeout: config.awsTimeout,
                                                   clock: SystemClock(), logger: logger)
        let endpoint = factory.environment.endpoint(for: .ecs)
        let calls = AWSCallSink()
        var target = Target(cloud: factory.makeRawCloud(), clock: clock, wallClock: SystemClock(),
                      preflight: AWSPreflightCheck(preflight: factory.makePreflight(middleware: [RetryMiddleware(policy: config.retryPolicy, clock: clock)],
                                                                                    onCall: { calls.record(service: $0, operation: $1, milliseconds: $2) }),
                                                   calls: calls, clock: clock,
                                                   cloudWatchTemplates: Set(config.analysis.templates.values.filter { $0.provider == .cloudwatch }.map(\.name))),
                      description: "AWS mode: region \(factory.environment.region), ECS endpoint \(endpoint)"
                        + (config.endpointSpeedup != 1 ? ", its time running \(config.endpointSpeedup)x (aws.endpoint_speedup)" : ""))
        target.priceList = factory.pricing
        return target
    }

    /// The simulator of mock mode (and of `grpc-server simulate`): services named for the
    /// first time are created on the fly, `mock:` settings, its cloud saved beside the history
    /// (read back at start, so that deployments resume after a restart). Answers it with what
    /// the log says of it.
    /// `awsTimings`: ELB's side as AWS's defaults have it (`grpc-server simulate`: health checks
    /// every 30 s, healthy after 5, a deregistration delay of 300 s); otherwise mock mode's short
    /// ones (a target's health is its task's, drained in 3 s). `mock.elb` sets each.
    public static func makeSimulator(_ config: ServerConfig, logger: Logger, awsTimings: Bool = false) -> (SimulatedCloud, String) {
        var settings = SimulatorSettings()
        let elb = config.mockELB
        if awsTimings || elb.healthCheckInterval != nil || elb.healthyThreshold != nil || elb.unhealthyThreshold != nil {
            let aws = TargetHealthCheck.aws
            settings.targetHealthCheck = TargetHealthCheck(interval: elb.healthCheckInterval?.seconds ?? aws.interval,
                                                           healthyThreshold: elb.healthyThreshold ?? aws.healthyThreshold,
                                                           unhealthyThreshold: elb.unhealthyThreshold ?? aws.unhealthyThreshold)
        }
        settings.draining = elb.deregistrationDelay?.seconds ?? (awsTimings ? 300 : settings.draining)
        settings.listenerLag = elb.listenerLag?.seconds ?? 0
        settings.backgroundCalls = config.mockBackgroundCalls
        settings.autoCreate = true
        settings.autoCreateController = config.mockController
        settings.autoCreateNative = config.mockNative
        settings.throttle = config.mockThrottle ? .aws : nil
        settings.metricAlarms = config.mockAlarms
        settings.apiFaults = config.mockAPIFaults
        let file = SimulatorStateFile(url: URL(fileURLWithPath: config.storagePath).deletingLastPathComponent()
            .appendingPathComponent("simulator.json"), onError: { logger.error("\($0)") })
        var saved: SavedSimulator?
        do { saved = try file.load() } catch {
            let aside = (try? file.moveAside()).map { "moved to \($0.path)" } ?? "it will be overwritten"
            logger.error("\(error); \(aside), the simulator starts with an empty cloud")
        }
        // Simulated time goes on from the last save (it runs ahead of the wall clock).
        let clock = ScaledClock(speedup: config.mockSpeedup, start: max(saved?.savedAt ?? .distantPast, Date()))
        var description = "mock mode: deploying to the built-in simulator, simulated time runs \(config.mockSpeedup)x"
        if saved != nil { description += "; its cloud was read from \(file.url.path)" }
        if let faults = config.mockAPIFaults, faults.total > 0 {
            description += "; \((faults.total * 100).formatted(.number.precision(.fractionLength(0...2))))% of API calls fail on purpose (mock.api_faults)"
        }
        return (SimulatedCloud(clock: clock, settings: settings, restoring: saved, savingTo: file), description)
    }

    static let auditUsage = """
        usage: grpc-server audit verify FILE [--key-file KEY] [--expect-last-seq N]
               grpc-server audit acknowledge --reason TEXT [-config FILE]
        """

    /// `grpc-server audit verify FILE`: checks the audit log's chain (keyed lines with the key;
    /// with the last seq the server recorded, a log whose last lines were dropped).
    /// `grpc-server audit acknowledge`: takes the audit log as it is now after the server refused
    /// to start on it (the mismatch and the reason are written to the log).
    static func auditCommand(_ arguments: [String], environment: [String: String]) -> Int32 {
        var args = arguments[...]
        let verb = args.popFirst()
        var file: String?
        var keyFile: String?
        var expected: Int?
        var reason = ""
        var configPath = environment["CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        while let arg = args.popFirst() {
            switch arg {
            case "--key-file", "-key-file": keyFile = args.popFirst()
            case "--expect-last-seq", "-expect-last-seq":
                guard let n = args.popFirst().flatMap({ Int($0) }), n >= 0 else { return fail("--expect-last-seq needs a whole number") }
                expected = n
            case "--reason", "-reason": reason = args.popFirst() ?? ""
            case "-config", "--config": configPath = args.popFirst()
            default:
                guard file == nil, !arg.hasPrefix("-") else { return fail("unknown argument '\(arg)'\n\(auditUsage)") }
                file = arg
            }
        }
        do {
            switch verb {
            case "verify":
                guard let file else { return fail(auditUsage) }
                let result = try AuditLog.verify(path: file, key: try keyFile.map(AuditKey.load), expectedLastSeq: expected)
                print("\(file): \(result)")
                return result.isValid ? 0 : 1
            case "acknowledge":
                guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { return fail("acknowledge needs --reason TEXT\n\(auditUsage)") }
                if configPath == nil, FileManager.default.fileExists(atPath: "config.yaml") { configPath = "config.yaml" }
                let config = try ServerConfig.load(path: configPath, environment: environment)
                let store = try SQLiteDeploymentStore(path: config.storagePath)
                let path = config.effectiveAuditPath
                let anchors = StoreAuditAnchors(store: store)
                let before = try anchors.anchor(for: path)
                let now = try AuditLog.lastLine(path: path)
                try store.setAuditAnchor(seq: now?.seq ?? 0, hash: now?.hash ?? "", for: path, force: true)
                let audit = try AuditLog(path: path, key: try config.auditKeyFile.map(AuditKey.load), anchors: anchors)
                defer { audit.close() }
                try audit.append(AuditEntry(timestamp: Date(), eventType: "audit.mismatch_acknowledged",
                                            user: environment["USER"] ?? "", metadata: [
                                                "reason": String(reason.prefix(1000)),
                                                "recorded_last_seq": String(before?.seq ?? 0),
                                                "found_last_seq": String(now?.seq ?? 0),
                                            ]))
                print("\(path): taken as it is (it ended at seq \(now?.seq ?? 0); the server had written up to seq \(before?.seq ?? 0)); "
                    + "recorded in the log")
                return 0
            default:
                return fail(auditUsage)
            }
        } catch {
            return fail("\(error)")
        }
    }

    /// `grpc-server token create NAME --role ROLE [--scope PATTERN] [--email ADDRESS] [-config FILE]`.
    static func tokenCommand(_ arguments: [String], environment: [String: String]) -> Int32 {
        let usage = "usage: grpc-server token create NAME --role ROLE [--role ROLE] [--scope PATTERN ...] [--email ADDRESS] [-config FILE]"
        var args = arguments[...]
        guard args.popFirst() == "create", let name = args.popFirst(), !name.hasPrefix("-") else { return fail(usage) }
        var roles: [Role] = []
        var scopes: [ScopePattern] = []
        var email: String?
        var configPath = environment["CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            while let arg = args.popFirst() {
                guard let value = args.popFirst() else { return fail("\(arg) needs a value\n\(usage)") }
                switch arg {
                case "--role", "-role": roles.append(try Role.parse(value, field: "--role"))
                case "--scope", "-scope": scopes.append(try ScopePattern(value))
                case "--email", "-email": email = value
                case "-config", "--config": configPath = value
                default: return fail("unknown argument '\(arg)'\n\(usage)")
                }
            }
            if configPath == nil, FileManager.default.fileExists(atPath: "config.yaml") { configPath = "config.yaml" }
            let config = try ServerConfig.load(path: configPath, environment: environment)
            guard let path = config.security.tokensFile else {
                return fail("auth.tokens_file is not set in \(configPath ?? "the config (no config file found)"): set it to where tokens are kept")
            }
            let token = try TokenStore.create(name: name, roles: roles, scopes: scopes, email: email, path: path)
            print("created token '\(name)' (\(roles.map(\.rawValue).joined(separator: ", ")) on "
                + "\(scopes.isEmpty ? "every service" : scopes.map(\.pattern).joined(separator: ", "))) in \(path); "
                + "it is shown once, below. A running server takes it at its next call.")
            print(token)
            return 0
        } catch {
            return fail("\(error)")
        }
    }

    static func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data("grpc-server: \(message)\n".utf8))
        return 1
    }
}
