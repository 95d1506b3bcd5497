import Foundation

/// Server-wide defaults for deployments (from config.yaml's `strategy:` section).
public struct StrategyDefaults: Sendable, Equatable {
    /// How long a deployment may take before it is rolled back (`strategy.timeout`).
    public var timeout: Duration
    /// How often the service is polled while waiting (`strategy.poll_interval`).
    public var pollInterval: Duration

    public init(timeout: Duration = .seconds(600), pollInterval: Duration = .seconds(5)) {
        self.timeout = timeout
        self.pollInterval = pollInterval
    }
}

/// The settings one deployment runs with: defaults, overridden by its `-config` keys.
public struct DeploymentSettings: Sendable, Equatable {
    public var timeout: Duration
    public var pollInterval: Duration

    /// Keys a deployment's `-config` may set, and how each is read.
    static let keys: [String: @Sendable (inout DeploymentSettings, String) throws -> Void] = [
        "timeout": { s, v in s.timeout = try positiveDuration("timeout", v) },
        "poll_interval": { s, v in s.pollInterval = try positiveDuration("poll_interval", v) },
    ]

    public static func resolve(defaults: StrategyDefaults, overrides: [String: String]) throws -> DeploymentSettings {
        var settings = DeploymentSettings(timeout: defaults.timeout, pollInterval: defaults.pollInterval)
        for key in overrides.keys.sorted() {
            guard let apply = keys[key] else {
                let known = keys.keys.sorted().joined(separator: ", ")
                throw EngineError.invalid("config.\(key)", "unknown key (known keys: \(known))")
            }
            try apply(&settings, overrides[key]!)
        }
        return settings
    }

    static func positiveDuration(_ key: String, _ value: String) throws -> Duration {
        guard let d = GoDuration.parse(value), d > .zero else {
            throw EngineError.invalid("config.\(key)", "'\(value)' is not a duration (e.g. 30s, 5m, 1h)")
        }
        return d
    }
}
