import CloudModel
import Engine
import Foundation
import Logging
import Yams
import CloudRuntime
import Simulator

/// The server's settings: config.yaml (every key of the seed's, plus the ones below), then
/// environment overrides. Unknown keys and malformed values are refused with their path.
public struct ServerConfig: Sendable, Equatable {
    // server:
    public var host = "0.0.0.0"
    public var port = 50051
    public var enableMetrics = true
    public var metricsPort = 9090
    public var gracefulTimeout: Duration = .seconds(30)
    /// Largest request accepted, in bytes (`server.max_request_bytes`).
    public var maxRequestBytes = 1 << 20
    /// The HTTP port closes a connection idle this long (`server.http_idle_timeout`) ...
    public var httpIdleTimeout: Duration = .seconds(30)
    /// ... and holds at most this many open (`server.http_max_connections`; more wait in the backlog).
    public var httpMaxConnections = 256
    // aws:
    public var region = "us-east-1"
    public var endpointURL: String?
    /// `aws.endpoint_speedup`: the endpoint is `grpc-server simulate` with this `mock.speedup`,
    /// and the server's clock runs as fast (its polls, bakes, time-outs, retries and rate
    /// limiter in the simulator's time). Only with `aws.endpoint_url`; 1 (real time) otherwise.
    public var endpointSpeedup = 1.0
    public var awsTimeout: Duration = .seconds(30)
    public var maxRetries = 3
    public var retryDelay: Duration = .seconds(1)
    public var maxRetryDelay: Duration = .seconds(30)
    /// Client-side throttle buckets by API category (`aws.rate_limits`), preset to AWS's.
    public var rateLimits = RateLimits.aws
    // strategy: the defaults of every deployment (each deployment's -config overrides them).
    public var deployment = DeploymentSettings()
    // mock:
    public var mockMode = false
    /// Simulated seconds per real second in mock mode (`mock.speedup`).
    public var mockSpeedup = 100.0
    /// Whether the simulator enforces AWS's throttle buckets (`mock.throttle`).
    public var mockThrottle = false
    /// `limits:`: deployments per service over a period, in flight per cluster and in all.
    public var limits = DeploymentLimits()
    /// `windows:`: when deployments may start.
    public var windows = DeployWindows()
    /// `pricing:`: the prices changes are costed with (nil: `pricing.enabled: false`).
    public var prices: PriceTable? = .published
    /// `dashboard.enabled`: the web dashboard on the HTTP port.
    public var dashboardEnabled = true
    /// `dashboard.path_prefix`: where it is served ("" : at the root; "/ops" behind a proxy).
    public var dashboardPrefix = ""
    /// `dashboard.oidc`: sign-in through `auth.oidc`'s issuer (authorization code flow).
    var dashboardOIDC: DashboardSignOn.Settings?
    /// `pricing.refresh`: read the region's prices from the Price List API at start (AWS mode).
    public var refreshPrices = false
    /// CloudWatch alarms on the simulator's load balancer metrics (`mock.alarms`).
    public var mockAlarms: [SimulatedMetricAlarm] = []
    /// A fraction of the simulator's API calls fail on purpose (`mock.api_faults`).
    public var mockAPIFaults: APIFaultRates?
    /// `mock.elb`: the simulator's load balancers; a key not set takes its mode's default (see
    /// `ServerCommand.makeSimulator`).
    public var mockELB = SimulatedELB()
    /// `mock.background_calls`: calls per second that other tools of the account make, by
    /// throttle category (`ecs.service-reads`, ...), taken from AWS's buckets (with `mock.throttle`).
    public var mockBackgroundCalls: [String: Double] = [:]
    /// `mock.credentials`: `grpc-server simulate` checks SigV4 signatures with this key
    /// (`access_key_id`, the secret in `secret_access_key_file`); without it any signature passes.
    public var mockCredentials: SimulatorKey?

    public struct SimulatorKey: Sendable, Equatable {
        public var accessKeyID: String
        public var secretFile: String
    }

    public struct SimulatedELB: Sendable, Equatable {
        public var healthCheckInterval: Duration?
        public var healthyThreshold: Int?
        public var unhealthyThreshold: Int?
        public var deregistrationDelay: Duration?
        public var listenerLag: Duration?
        public init() {}
    }
    /// How long the wire simulator holds a call that times out before it drops the connection
    /// (`mock.api_faults.timeout_after`, real time; the client gives up after `aws.timeout`).
    public var mockTimeoutHold: Duration = .seconds(35)
    /// The deployment controller of services the simulator creates on the fly
    /// (`mock.controller`): EXTERNAL (with a load balancer, for every strategy) or ECS.
    public var mockController: DeploymentController = .external
    /// `mock.controller: native`: services created on the fly run ECS's own blue/green, linear and canary.
    public var mockNative = false
    // storage:
    /// The SQLite file of deployment history (`storage.path`); its folder is created.
    public var storagePath = "data/ecs-deploy.sqlite"
    /// Finished deployments older than this are deleted (`storage.retention`).
    public var retention: Duration = .seconds(90 * 86400)
    // audit:
    /// The JSON-lines audit log (`audit.path`); nil: the default for the mode.
    public var auditPath: String?
    /// `audit.key_file`: the secret that keys the audit log's chain (HMAC-SHA256).
    public var auditKeyFile: String?
    /// What happens, at start, to deployments a previous run left unfinished (`recovery`).
    public var recovery: Recovery = .resume

    public enum Recovery: String, Sendable, Equatable { case resume, rollback }

    /// The audit log path: as configured, else the seed's `/var/log/ecs-plugin/audit.log`, or
    /// in mock mode `audit.log` next to the history file.
    public var effectiveAuditPath: String {
        if let auditPath { return auditPath }
        if mockMode { return URL(fileURLWithPath: storagePath).deletingLastPathComponent().appendingPathComponent("audit.log").path }
        return "/var/log/ecs-plugin/audit.log"
    }

    // gitops:
    public var gitops: GitOpsConfig?

    /// `gitops:` the repository whose deployment.yaml drives releases.
    public struct GitOpsConfig: Sendable, Equatable {
        /// A local path or any URL the git CLI can fetch.
        public var repo: String
        public var branch = "main"
        public var path = "deployment.yaml"
        public var pollInterval: Duration = .seconds(60)
        /// `gitops.webhook_secret`: POST /hooks/git must be signed with it (GitHub) or carry it (GitLab).
        public var webhookSecret: String?
        public init(repo: String) { self.repo = repo }
    }

    // auth:, approvals:, security:, tls.client_ca_file
    public var security = SecurityConfig()
    /// `strategy.hooks.definitions`: the hooks a request or a manifest may name.
    public var hookDefinitions: [String: String] = [:]
    // tls:
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    // logging:
    public var logLevel: Logger.Level = .info
    /// `notifications:` where deployments and releases are told of.
    public var notifications = NotificationConfig()
    /// `analysis:` metric templates judged during bakes, and where they are queried.
    public var analysis = AnalysisConfig()

    public init() {}

    /// Reads `path` (if given) and applies the environment.
    public static func load(path: String?, environment: [String: String]) throws -> ServerConfig {
        var config = ServerConfig()
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError("\(path): cannot read the file")
            }
            try config.apply(yaml: String(decoding: data, as: UTF8.self), source: path, environment: environment)
        }
        try config.apply(environment: environment)
        return config
    }

    mutating func apply(yaml text: String, source: String, environment: [String: String] = [:]) throws {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw ConfigError("\(source): not valid YAML: \(error)")
        }
        guard let node else { return }
        let root = try ConfigNode(value: node, path: "", source: source).object()
        try root.only(["server", "aws", "strategy", "mock", "tls", "log_level", "storage", "audit", "recovery", "gitops",
                       "auth", "approvals", "security", "notifications", "analysis", "limits", "windows", "pricing", "dashboard"])
        if let list = try root.objects("windows") { windows = DeployWindows(try list.map(Self.window)) }
        if let l = try root.objectIfPresent("limits") { try applyLimits(l) }
        if let p = try root.objectIfPresent("pricing") { try applyPricing(p) }
        if let d = try root.objectIfPresent("dashboard") {
            try d.only(["enabled", "path_prefix", "oidc"])
            if let o = try d.objectIfPresent("oidc") {
                try o.only(["client_id", "client_secret_file", "url"])
                guard let id = try o.string("client_id"), !id.isEmpty else { throw o.failure("client_id", "is required (the dashboard's client at the issuer)") }
                guard let secret = try o.string("client_secret_file"), !secret.isEmpty else {
                    throw o.failure("client_secret_file", "is required (a file holding the client secret)")
                }
                guard let url = try o.string("url"), DashboardSignOn.acceptable(url) else {
                    throw o.failure("url", "is required: the dashboard's public https URL (the issuer sends the browser back to URL/login/oidc/callback)")
                }
                let base = url.hasSuffix("/") ? String(url.dropLast()) : url
                dashboardOIDC = DashboardSignOn.Settings(clientID: id, clientSecretFile: secret, redirectURI: base + "/login/oidc/callback")
            }
            dashboardEnabled = try d.bool("enabled") ?? dashboardEnabled
            if let prefix = try d.string("path_prefix") {
                let trimmed = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
                let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_/"))
                guard trimmed.isEmpty || (trimmed.hasPrefix("/") && trimmed.unicodeScalars.allSatisfy(allowed.contains) && !trimmed.contains("//")),
                      trimmed.count <= 100 else {
                    throw d.failure("path_prefix", "'\(prefix.prefix(100))' is not a path (e.g. /ops: letters, digits, - _ /)")
                }
                dashboardPrefix = trimmed
            }
        }
        if let a = try root.objectIfPresent("analysis") { analysis = try AnalysisConfig.parse(a, environment: environment) }
        if let n = try root.objectIfPresent("notifications") { notifications = try NotificationConfig.parse(n, environment: environment) }
        if let a = try root.objectIfPresent("auth") { try security.apply(auth: a) }
        if let a = try root.objectIfPresent("approvals") { try security.apply(approvals: a) }
        if let s = try root.objectIfPresent("security") { try security.apply(security: s) }
        if let g = try root.objectIfPresent("gitops") {
            try g.only(["repo", "branch", "path", "poll_interval", "webhook_secret"])
            guard let repo = try g.string("repo"), !repo.isEmpty else { throw ConfigError("\(source): gitops.repo: is required") }
            var git = GitOpsConfig(repo: repo)
            git.branch = try g.string("branch") ?? git.branch
            git.path = try g.string("path") ?? git.path
            git.pollInterval = try g.duration("poll_interval") ?? git.pollInterval
            git.webhookSecret = try g.string("webhook_secret").flatMap { $0.isEmpty ? nil : $0 }
            gitops = git
        }
        if let st = try root.objectIfPresent("storage") {
            try st.only(["path", "retention"])
            storagePath = try st.string("path") ?? storagePath
            retention = try st.duration("retention") ?? retention
        }
        if let a = try root.objectIfPresent("audit") {
            try a.only(["path", "key_file"])
            auditPath = try a.string("path") ?? auditPath
            auditKeyFile = try a.string("key_file") ?? auditKeyFile
        }
        if let r = try root.string("recovery") {
            guard let value = Recovery(rawValue: r) else { throw ConfigError("\(source): recovery: '\(r)' is not resume or rollback") }
            recovery = value
        }
        if let s = try root.objectIfPresent("server") {
            try s.only(["host", "port", "enable_metrics", "metrics_port", "graceful_timeout", "max_request_bytes",
                        "http_idle_timeout", "http_max_connections"])
            httpIdleTimeout = try s.duration("http_idle_timeout") ?? httpIdleTimeout
            httpMaxConnections = try s.int("http_max_connections", min: 1) ?? httpMaxConnections
            host = try s.string("host") ?? host
            port = try s.port("port") ?? port
            enableMetrics = try s.bool("enable_metrics") ?? enableMetrics
            metricsPort = try s.port("metrics_port") ?? metricsPort
            gracefulTimeout = try s.duration("graceful_timeout") ?? gracefulTimeout
            maxRequestBytes = try s.int("max_request_bytes", min: 1024, max: 64 << 20) ?? maxRequestBytes
        }
        if let a = try root.objectIfPresent("aws") {
            try a.only(["region", "endpoint_url", "endpoint_speedup", "timeout", "max_retries", "retry_delay", "max_retry_delay", "rate_limits"])
            if let limits = try a.objectIfPresent("rate_limits") {
                try limits.only(Set(rateLimits.limits.keys))
                for category in rateLimits.limits.keys.sorted() {
                    guard let bucket = try limits.objectIfPresent(category) else { continue }
                    try bucket.only(["capacity", "refill_per_second"])
                    var limit = rateLimits.limits[category]!
                    limit.capacity = try bucket.double("capacity", min: 1) ?? limit.capacity
                    limit.refillPerSecond = try bucket.double("refill_per_second", min: 0.001) ?? limit.refillPerSecond
                    rateLimits.limits[category] = limit
                }
            }
            region = try a.string("region") ?? region
            endpointURL = try a.string("endpoint_url") ?? endpointURL
            endpointSpeedup = try a.double("endpoint_speedup", min: 0.001) ?? endpointSpeedup
            awsTimeout = try a.duration("timeout") ?? awsTimeout
            maxRetries = try a.int("max_retries", min: 0, max: 20) ?? maxRetries
            retryDelay = try a.duration("retry_delay") ?? retryDelay
            maxRetryDelay = try a.duration("max_retry_delay") ?? maxRetryDelay
        }
        if let st = try root.objectIfPresent("strategy") { try applyStrategy(st) }
        if let m = try root.objectIfPresent("mock") {
            try m.only(["enabled", "speedup", "throttle", "controller", "alarms", "api_faults", "elb", "background_calls", "credentials"])
            if let c = try m.objectIfPresent("credentials") {
                try c.only(["access_key_id", "secret_access_key_file"])
                guard let id = try c.string("access_key_id"), !id.isEmpty else { throw c.failure("access_key_id", "is required") }
                guard let file = try c.string("secret_access_key_file"), !file.isEmpty else {
                    throw c.failure("secret_access_key_file", "is required (a file holding the secret key)")
                }
                mockCredentials = SimulatorKey(accessKeyID: id, secretFile: file)
            }
            if let e = try m.objectIfPresent("elb") {
                try e.only(["health_check_interval", "healthy_threshold", "unhealthy_threshold", "deregistration_delay", "listener_lag"])
                mockELB.healthCheckInterval = try e.duration("health_check_interval")
                mockELB.healthyThreshold = try e.int("healthy_threshold", min: 2, max: 10)
                mockELB.unhealthyThreshold = try e.int("unhealthy_threshold", min: 2, max: 10)
                mockELB.deregistrationDelay = try e.duration("deregistration_delay")
                mockELB.listenerLag = try e.duration("listener_lag")
                if let d = mockELB.deregistrationDelay, d > .seconds(3600) {
                    throw e.failure("deregistration_delay", "is at most 3600s, as on AWS")
                }
            }
            if let b = try m.objectIfPresent("background_calls") {
                try b.only(Set(RateLimits.aws.limits.keys))
                for category in b.fields.keys { mockBackgroundCalls[category] = try b.double(category, min: 0) }
            }
            if let alarms = try m.objectIfPresent("alarms") { mockAlarms = try Self.mockAlarms(alarms) }
            if let f = try m.objectIfPresent("api_faults") {
                try f.only(["throttle", "server_error", "timeout", "reset", "timeout_after"])
                func rate(_ key: String) throws -> Double {
                    let r = try f.double(key, min: 0) ?? 0
                    guard r <= 1 else { throw f.failure(key, "'\(r)' is a fraction of the calls, from 0 to 1 (0.05: one call in 20)") }
                    return r
                }
                let rates = APIFaultRates(throttle: try rate("throttle"), serverError: try rate("server_error"),
                                          timeout: try rate("timeout"), reset: try rate("reset"))
                guard rates.total <= 1 else { throw f.failure("throttle", "and server_error, timeout, reset add up to more than 1") }
                mockAPIFaults = rates
                mockTimeoutHold = try f.duration("timeout_after") ?? mockTimeoutHold
            }
            if let c = try m.string("controller") {
                // native: the ECS controller, with what ECS's own blue/green, linear and canary need.
                mockNative = c.lowercased() == "native"
                guard let controller = mockNative ? .ecs : DeploymentController(rawValue: c.uppercased()), controller != .codeDeploy else {
                    throw ConfigError("\(source): mock.controller: '\(c.prefix(64))' is not external, ecs or native")
                }
                mockController = controller
            }
            mockMode = try m.bool("enabled") ?? mockMode
            mockSpeedup = try m.double("speedup", min: 0.001) ?? mockSpeedup
            mockThrottle = try m.bool("throttle") ?? mockThrottle
        }
        if let t = try root.objectIfPresent("tls") {
            try t.only(["cert_file", "key_file", "client_ca_file"])
            security.clientCAFile = try t.string("client_ca_file") ?? security.clientCAFile
            tlsCertFile = try t.string("cert_file") ?? tlsCertFile
            tlsKeyFile = try t.string("key_file") ?? tlsKeyFile
        }
        if let level = try root.string("log_level") { logLevel = try Self.level(level, path: "log_level") }
        if let unknown = deployment.analysis.first(where: { analysis.templates[$0] == nil }) {
            throw ConfigError("\(source): strategy.analysis: no template \(unknown) in analysis.templates")
        }
    }

    /// `strategy:` keys, each read by the same code as the `-config` key it stands for.
    private mutating func applyStrategy(_ st: ConfigObject) throws {
        let sections: [String: [String: String]] = [
            "": ["timeout": "timeout", "poll_interval": "poll_interval", "require_approval": "require_approval",
                 "approval_timeout": "approval_timeout", "fail_on_drift": "fail_on_drift", "analysis": "analysis",
                 "bake_time": "bake_time", "approve_at": "approve_at"],
            "quicksync": ["post_deploy_watch": "post_deploy_watch"],
            "canary": ["stages": "canary_stages", "stage_timeout": "stage_timeout", "target_group": "canary_target_group",
                       "percent": "canary_percent", "bake": "canary_bake"],
            "linear": ["step_percent": "linear_step_percent", "step_bake": "linear_step_bake"],
            "bluegreen": ["stabilization_time": "stabilization_time", "cleanup_delay": "cleanup_delay"],
            "rolling": ["batch_size": "batch_size", "batch_delay": "batch_delay"],
            "health_check": ["url": "health_check_url", "status": "health_check_status", "interval": "health_check_interval"],
            "hooks": Dictionary(uniqueKeysWithValues: HookPoint.allCases.map { ($0.rawValue, "hook_\($0.rawValue)") }
                + [("timeout", "hook_timeout")]),
        ]
        if let hooks = try st.objectIfPresent("hooks"), let definitions = try hooks.stringMap("definitions") {
            for (name, target) in definitions {
                guard DeploymentSettings.isHookName(name) else {
                    throw ConfigError("\(hooks.source): \(hooks.keyPath("definitions")).\(name): a hook name is letters, digits, - _ .")
                }
                do { _ = try DeploymentSettings.hookTarget("x", target) } catch let error as EngineError {
                    throw ConfigError("\(hooks.source): \(hooks.keyPath("definitions")).\(name): \(error.detail)")
                }
            }
            hookDefinitions = definitions
        }
        try st.only(Set(sections[""]!.keys).union(sections.keys.filter { !$0.isEmpty }).union(["alarms"]))
        if let alarms = try st.strings("alarms") {
            do {
                try deployment.apply(key: "alarms", value: alarms.joined(separator: ","))
            } catch let error as EngineError {
                throw ConfigError("\(st.source): \(st.keyPath("alarms")): \(error.detail)")
            }
        }
        for (section, keys) in sections {
            let object = section.isEmpty ? st : try st.objectIfPresent(section)
            guard let object else { continue }
            if !section.isEmpty { try object.only(Set(keys.keys).union(section == "hooks" ? ["definitions"] : [])) }
            for (yamlKey, settingKey) in keys {
                guard let value = try object.scalarText(yamlKey) else { continue }
                do {
                    try deployment.apply(key: settingKey, value: value)
                } catch let error as EngineError {
                    throw ConfigError("\(object.source): \(object.keyPath(yamlKey)): \(error.detail)")
                }
            }
        }
        for (point, target) in deployment.hooks where DeploymentSettings.isHookName(target) && hookDefinitions[target] == nil {
            throw ConfigError("\(st.source): strategy.hooks.\(point.rawValue): '\(target)' is not defined in strategy.hooks.definitions")
        }
    }

    /// Retries of AWS calls: `aws.max_retries`, `retry_delay`, `max_retry_delay`; each call,
    /// retries included, gets its attempts' `aws.timeout` plus the delays between them. The
    /// budget is on the server's clock: with `aws.endpoint_speedup` an attempt's real
    /// `aws.timeout` lasts that many times longer on it.
    public var retryPolicy: RetryPolicy {
        let budget = awsTimeout * endpointSpeedup * Double(maxRetries + 1) + maxRetryDelay * maxRetries
        return RetryPolicy(maxRetries: maxRetries, baseDelay: retryDelay, maxDelay: maxRetryDelay, timeout: budget)
    }

    mutating func apply(environment env: [String: String]) throws {
        if let v = env["MOCK_MODE"], !v.isEmpty {
            guard let b = ConfigNode.parseBool(v) else { throw ConfigError("MOCK_MODE: '\(v)' is not true or false") }
            mockMode = b
        }
        if let v = env["AWS_REGION"], !v.isEmpty { region = v }
        if let v = env["AWS_ENDPOINT_URL"], !v.isEmpty { endpointURL = v }
        if let v = env["LOG_LEVEL"], !v.isEmpty { logLevel = try Self.level(v, path: "LOG_LEVEL") }
        if let v = env["TLS_CERT_FILE"], !v.isEmpty { tlsCertFile = v }
        if let v = env["TLS_KEY_FILE"], !v.isEmpty { tlsKeyFile = v }
        if (tlsCertFile == nil) != (tlsKeyFile == nil) {
            throw ConfigError("TLS needs both a certificate and a key (TLS_CERT_FILE and TLS_KEY_FILE, or tls.cert_file and tls.key_file)")
        }
    }

    static func level(_ text: String, path: String) throws -> Logger.Level {
        let name = text.lowercased() == "warn" ? "warning" : text.lowercased()
        guard let level = Logger.Level(rawValue: name) else {
            throw ConfigError("\(path): '\(text)' is not a log level (trace, debug, info, notice, warning, error, critical)")
        }
        return level
    }
}

/// A config is never printed whole: it holds hook targets, a webhook secret and paths to keys.
extension ServerConfig: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "ServerConfig(\(host):\(port), metrics \(metricsPort), \(mockMode ? "mock mode" : "AWS \(region)"))"
    }
    public var debugDescription: String { description }
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ServerConfig {
    /// `windows[]: {kind: allow | deny, schedule: <cron>, duration, time_zone, match: {cluster, service}, description}`.
    static func window(_ w: ConfigObject) throws -> DeployWindow {
        try w.only(["kind", "schedule", "duration", "time_zone", "match", "description"])
        guard let kindText = try w.string("kind"), let kind = DeployWindow.Kind(rawValue: kindText) else {
            throw w.failure("kind", "is required: allow or deny")
        }
        let zoneName = try w.string("time_zone") ?? "UTC"
        guard let zone = TimeZone(identifier: zoneName) else { throw w.failure("time_zone", "'\(zoneName.prefix(40))' is not a time zone (e.g. Europe/Paris)") }
        guard let cron = try w.string("schedule") else { throw w.failure("schedule", "is required: a cron schedule (minute hour day month weekday)") }
        let schedule: CronSchedule
        do { schedule = try CronSchedule(cron, timeZone: zone, named: zoneName) } catch { throw w.failure("schedule", "\(error)") }
        guard let duration = try w.duration("duration") else { throw w.failure("duration", "is required (e.g. 4h)") }
        var window = DeployWindow(kind: kind, schedule: schedule, duration: duration, description: try w.string("description") ?? "")
        if let match = try w.objectIfPresent("match") {
            try match.only(["cluster", "service"])
            window.cluster = try match.string("cluster")
            window.service = try match.string("service")
        }
        return window
    }

    /// `pricing: {enabled, date, currency, refresh, regions: {<region>: {vcpu_hour, gb_hour, arm_vcpu_hour, arm_gb_hour}}}`:
    /// the regions given replace or add to the published defaults, and `date` (required with
    /// them) is then the date shown with every cost.
    mutating func applyPricing(_ p: ConfigObject) throws {
        try p.only(["enabled", "date", "currency", "regions", "refresh"])
        refreshPrices = try p.bool("refresh") ?? refreshPrices
        if try p.bool("enabled") == false {
            prices = nil
            return
        }
        var table = PriceTable.published
        if let currency = try p.string("currency") { table.currency = currency }
        if let regions = try p.objectIfPresent("regions") {
            guard let date = try p.string("date") else { throw p.failure("date", "is required with pricing.regions: the date of the prices given (YYYY-MM-DD)") }
            table.date = date
            for name in regions.fields.keys.sorted() {
                guard let r = try regions.objectIfPresent(name) else { throw regions.failure(name, "must be a mapping of prices per hour") }
                let keys = ["vcpu_hour", "gb_hour", "arm_vcpu_hour", "arm_gb_hour"]
                try r.only(Set(keys))
                var values: [Double] = []
                for key in keys {
                    guard let v = try r.double(key, min: 0) else { throw r.failure(key, "is required (a price per hour, e.g. 0.04048)") }
                    values.append(v)
                }
                table.regions[name] = FargatePrices(vcpuHour: values[0], gbHour: values[1], armVcpuHour: values[2], armGBHour: values[3])
            }
        } else if let date = try p.string("date") {
            throw p.failure("date", "'\(date.prefix(20))' is given without pricing.regions; the published prices are of \(table.date)")
        }
        prices = table
    }

    /// `limits: {per_service: {deployments, per}, per_cluster: {in_flight}, global: {in_flight}, queue}`.
    mutating func applyLimits(_ l: ConfigObject) throws {
        try l.only(["per_service", "per_cluster", "global", "queue"])
        if let s = try l.objectIfPresent("per_service") {
            try s.only(["deployments", "per"])
            guard let count = try s.int("deployments", min: 1, max: 100_000) else { throw s.failure("deployments", "is required (e.g. 3)") }
            guard let period = try s.duration("per") else { throw s.failure("per", "is required (e.g. 1h)") }
            limits.perService = DeploymentLimits.Rate(count: count, period: period)
        }
        for (key, set) in [("per_cluster", { (c: inout ServerConfig, n: Int) in c.limits.perClusterInFlight = n }),
                           ("global", { (c: inout ServerConfig, n: Int) in c.limits.globalInFlight = n })] {
            guard let o = try l.objectIfPresent(key) else { continue }
            try o.only(["in_flight"])
            guard let n = try o.int("in_flight", min: 1, max: 100_000) else { throw o.failure("in_flight", "is required (e.g. 2)") }
            set(&self, n)
        }
        if let queue = try l.bool("queue") { deployment.queueWhenLimited = queue }
    }

    /// `mock.alarms.<name>: {metric, target_group | load_balancer, stat, period, threshold, evaluation_periods}`.
    static func mockAlarms(_ alarms: ConfigObject) throws -> [SimulatedMetricAlarm] {
        try alarms.fields.keys.sorted().map { name in
            guard let a = try alarms.objectIfPresent(name) else { throw alarms.failure(name, "must be a mapping") }
            try a.only(["metric", "target_group", "load_balancer", "stat", "period", "threshold", "evaluation_periods"])
            guard let metric = try a.string("metric"), SimulatedMetricAlarm.metrics.contains(metric) else {
                throw a.failure("metric", "is required: one of \(SimulatedMetricAlarm.metrics.joined(separator: ", "))")
            }
            let scope: SimulatedMetricAlarm.Scope
            switch (try a.string("target_group"), try a.string("load_balancer")) {
            case (let group?, nil): scope = .targetGroup(group)
            case (nil, let balancer?): scope = .loadBalancer(balancer)
            default: throw a.failure("target_group", "or load_balancer is required, one of them (a name: web-green, web-alb)")
            }
            let text = try a.string("threshold") ?? ""
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let comparison = SimulatedMetricAlarm.Comparison.allCases.first(where: { trimmed.hasPrefix($0.rawValue) }),
                  let threshold = Double(trimmed.dropFirst(comparison.rawValue.count).trimmingCharacters(in: .whitespaces)), threshold.isFinite else {
                throw a.failure("threshold", "'\(text.prefix(32))' is not a comparison with a number (>, >=, <, <= and a number, e.g. \"> 10\")")
            }
            let period = try a.int("period", min: 10, max: 86400) ?? 60
            guard period % 60 == 0 || [10, 30].contains(period) else { throw a.failure("period", "must be 10, 30 or a multiple of 60 (seconds)") }
            return SimulatedMetricAlarm(name: name, metric: metric, stat: try a.string("stat") ?? (metric == "TargetResponseTime" ? "Average" : "Sum"),
                                        period: period, scope: scope, comparison: comparison, threshold: threshold,
                                        evaluationPeriods: try a.int("evaluation_periods", min: 1, max: 100) ?? 1)
        }
    }
}
