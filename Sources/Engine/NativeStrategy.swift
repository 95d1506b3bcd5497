import CloudModel
import Foundation

/// Our strategies as ECS runs them itself (a service with the ECS controller and a load
/// balancer's `advancedConfiguration`): the `deploymentConfiguration` that UpdateService sends.
/// Pure.
public enum NativeStrategy {
    /// The lifecycle stages where a deployment may wait for approval (a PAUSE hook).
    public static let approvalStages = ["POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT",
                                        "POST_PRODUCTION_TRAFFIC_SHIFT"]

    /// How long ECS holds a PAUSE hook for approval (without `approval_timeout`): 24 hours,
    /// then it rolls back. ECS takes at most 14 days.
    static let defaultApprovalMinutes = 1440
    static let maxApprovalMinutes = 20160
    /// ECS's longest bake (24 hours).
    static let maxBakeMinutes = 1440

    /// The deployment configuration of `strategy`, from the settings' keys (`canary_percent`,
    /// `canary_bake`, `linear_step_percent`, `linear_step_bake`, `bake_time`, `approve_at`) or,
    /// where they are not set, the keys our task-set strategies use that mean the same thing:
    /// canary_stages "P,100" gives the canary's percent, stage_timeout its bake (and a linear
    /// step's), stabilization_time the bake time; bakes round up to whole minutes.
    /// Throws (naming the key) where ours does not map to ECS's.
    public static func configuration(_ strategy: StrategyKind, _ s: DeploymentSettings) throws -> DeploymentConfiguration {
        var c = DeploymentConfiguration(circuitBreaker: CircuitBreaker(enable: true, rollback: true))
        switch strategy {
        case .canary:
            c.strategy = .canary
            c.canaryConfiguration = CanaryConfiguration(
                canaryPercent: try canaryPercent(s),
                canaryBakeTimeInMinutes: try minutes(s.canaryBake ?? s.stageTimeout, key: s.canaryBake == nil ? "stage_timeout" : "canary_bake"))
        case .linear:
            c.strategy = .linear
            c.linearConfiguration = LinearConfiguration(
                stepPercent: s.linearStepPercent ?? 10,
                stepBakeTimeInMinutes: try minutes(s.linearStepBake ?? s.stageTimeout, key: s.linearStepBake == nil ? "stage_timeout" : "linear_step_bake"))
        case .bluegreen:
            c.strategy = .blueGreen
        case .quicksync, .rolling:
            throw EngineError.invalid("strategy", "\(strategy.rawValue) is ECS's rolling update, not one of its traffic-shifting strategies")
        }
        c.bakeTimeInMinutes = try minutes(s.bakeTime ?? s.stabilizationTime, key: s.bakeTime == nil ? "stabilization_time" : "bake_time")
        if !s.alarms.isEmpty { c.alarms = DeploymentAlarms(alarmNames: s.alarms, enable: true, rollback: true) }
        if let stage = s.approveAt {
            let limit = try s.approvalTimeout.map { try minutes($0, key: "approval_timeout", max: maxApprovalMinutes) } ?? defaultApprovalMinutes
            c.lifecycleHooks = [DeploymentLifecycleHook(targetType: "PAUSE", lifecycleStages: [stage], timeoutInMinutes: max(1, limit),
                                                        timeoutAction: "ROLLBACK",
                                                        hookDetails: .object([DeploymentLifecycleHook.ownerKey: .string("approve_at")]))]
        }
        return c
    }

    /// The configuration of a rollback after ECS finished: the previous revision back with
    /// ECS's blue/green and no bake (its tasks healthy before traffic moves, all at once).
    public static let restore = DeploymentConfiguration(circuitBreaker: CircuitBreaker(enable: true, rollback: true), strategy: .blueGreen,
                                                        bakeTimeInMinutes: 0, lifecycleHooks: [])

    /// `canary_percent`, else canary_stages when it is "P,100" (or left as it is: its first stage).
    static func canaryPercent(_ s: DeploymentSettings) throws -> Double {
        if let p = s.canaryPercent { return p }
        let stages = s.canaryStages
        if stages.count == 2 || stages == DeploymentSettings().canaryStages { return Double(stages[0]) }
        throw EngineError.invalid("config.canary_stages",
                                  "'\(stages.map(String.init).joined(separator: ","))': ECS's canary moves one share of the traffic, "
                                      + "then all of it; give canary_percent (or canary_stages \"P,100\"), or use -strategy linear")
    }

    /// Whole minutes, rounded up; more than ECS takes is refused, naming `key`.
    static func minutes(_ d: Duration, key: String, max: Int = maxBakeMinutes) throws -> Int {
        let minutes = (d.seconds / 60).rounded(.up)
        guard minutes <= Double(max) else {
            throw EngineError.invalid("config.\(key)", "\(GoDuration.format(d)) is more than ECS takes here (\(max / 60) hours)")
        }
        return Int(minutes)
    }

    /// The most a native deployment's own bakes take (the follow's time limit comes on top).
    static func bakeSeconds(_ c: DeploymentConfiguration) -> Double {
        var minutes = c.bakeTimeInMinutes ?? 0
        if let canary = c.canaryConfiguration { minutes += canary.canaryBakeTimeInMinutes ?? 10 }
        if let linear = c.linearConfiguration {
            let steps = Int((100 / max(3, linear.stepPercent ?? 10)).rounded(.up))
            minutes += max(0, steps - 1) * (linear.stepBakeTimeInMinutes ?? 6)
        }
        return Double(minutes) * 60
    }
}
