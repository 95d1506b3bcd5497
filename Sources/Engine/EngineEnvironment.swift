import CloudModel
import Foundation
import Logging

/// Runs a deployment hook: an http(s) URL gets a POST of the payload as JSON; `exec:COMMAND`
/// runs a local command with the payload on standard input. Throws when the hook fails
/// (non-2xx, non-zero exit, timeout).
public protocol HookRunner: Sendable {
    func run(_ target: String, payload: HookPayload, timeout: Duration) async throws
}

/// Answers the HTTP status of a GET on a custom health check URL.
public protocol HealthProbe: Sendable {
    func status(of url: String, timeout: Duration) async throws -> Int
}

/// Checks, before a deployment is accepted, that the account lets this server do it
/// (credentials, permissions, roles). Throws an `EngineError` that says what is missing.
public protocol DeploymentPreflight: Sendable {
    /// Throws when the deployment cannot run; answers warnings (a check that could not be
    /// made), which the deployment records and goes on.
    /// - Parameters:
    ///   - taskDefinition: the task definition that will be registered.
    ///   - settings: the deployment's settings (its bakes read CloudWatch alarms when `alarms`
    ///     names some).
    ///   - native: ECS runs the strategy itself (the service deployment calls).
    func check(_ request: DeploymentRequest, taskDefinition: JSONValue, settings: DeploymentSettings, native: Bool) async throws -> [String]
    /// The same before a release points a scheduled task's EventBridge rule at a new task
    /// definition; `targetRoles` are the roles the rule's targets pass (their `RoleArn`).
    func checkScheduledTask(rule: String, taskDefinition: JSONValue, targetRoles: [String]) async throws -> [String]
}

/// What a hook receives.
public struct HookPayload: Sendable, Codable, Equatable {
    public var hook: String
    public var deploymentID: String
    public var cluster: String
    public var service: String
    public var strategy: String
    public var status: String
    public var stage: String
    public var trafficPercent: Int?
    public var taskDefinition: String?
    public var previousTaskDefinition: String?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case hook, cluster, service, strategy, status, stage, error
        case deploymentID = "deployment_id"
        case trafficPercent = "traffic_percent"
        case taskDefinition = "task_definition"
        case previousTaskDefinition = "previous_task_definition"
    }
}

/// Everything the engine talks to, injected.
public struct EngineEnvironment: Sendable {
    public var cloud: Cloud
    /// Drives the work: sleeps, bakes, deadlines, elapsed times.
    public var clock: any DeployClock
    /// The time written on records, events and approvals. The same as `clock`, except in mock
    /// mode, where `clock` runs faster than the wall clock and records still carry real time.
    public var wallClock: any DeployClock
    public var store: any DeploymentStore
    public var hooks: any HookRunner
    public var probe: any HealthProbe
    public var preflight: (any DeploymentPreflight)?
    public var observers: [any DeploymentObserver]
    public var logger: Logger
    /// `analysis.templates`: the metric queries a deployment's bakes may judge, by name.
    public var analysisTemplates: [String: AnalysisTemplate]
    /// Answers the templates' queries.
    public var metrics: any MetricsProvider
    /// Prices changes (`pricing`); nil: no cost is worked out.
    public var pricing: Pricing?

    public init(cloud: Cloud, clock: any DeployClock, store: any DeploymentStore = InMemoryDeploymentStore(),
                hooks: any HookRunner = NoHooks(), probe: any HealthProbe = NoProbe(), preflight: (any DeploymentPreflight)? = nil,
                observers: [any DeploymentObserver] = [], logger: Logger = Logger(label: "ecs-deploy.engine"),
                wallClock: (any DeployClock)? = nil, analysisTemplates: [String: AnalysisTemplate] = [:],
                metrics: any MetricsProvider = NoMetrics(), pricing: Pricing? = nil) {
        self.pricing = pricing
        self.preflight = preflight
        self.analysisTemplates = analysisTemplates
        self.metrics = metrics
        self.cloud = cloud
        self.clock = clock
        self.wallClock = wallClock ?? clock
        self.store = store
        self.hooks = hooks
        self.probe = probe
        self.observers = observers
        self.logger = logger
    }
}

/// For engines without network access: any configured hook or probe fails with this reason.
public struct NoHooks: HookRunner {
    public init() {}
    public func run(_ target: String, payload: HookPayload, timeout: Duration) async throws {
        throw EngineError(.failedPrecondition, "hooks are not available in this server")
    }
}

public struct NoProbe: HealthProbe {
    public init() {}
    public func status(of url: String, timeout: Duration) async throws -> Int {
        throw EngineError(.failedPrecondition, "custom health checks are not available in this server")
    }
}
