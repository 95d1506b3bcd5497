import CloudModel
import Foundation

/// The stages of each strategy, and the stages that undo what a deployment did. Pure.
public enum Plan {
    /// The forward stages of a strategy on a service with `controller`.
    /// `native`: the service can run ECS's own blue/green, linear and canary (the ECS
    /// controller and a load balancer's advanced configuration), which then run those three.
    public static func stages(for strategy: StrategyKind, settings: DeploymentSettings,
                              controller: DeploymentController, native: Bool = false) -> [Stage] {
        switch (strategy, controller) {
        case (.canary, .ecs) where native, (.bluegreen, .ecs) where native, (.linear, .ecs) where native:
            return [.registerTaskDefinition, .startServiceDeployment, .followServiceDeployment]
        case (.quicksync, .ecs):
            return [.registerTaskDefinition, .updateService(.new), .waitStable(.new)] + postDeployWatch(settings)
        case (.rolling, .ecs):
            return [.registerTaskDefinition, .updateService(.new), .waitStable(.new)]
        // The pre-traffic hook runs once the new tasks are healthy and before any production
        // traffic moves to them (as CodeDeploy's BeforeAllowTraffic), so that it can test them.
        case (.quicksync, _):
            // The watch runs while the previous task set can still take the traffic back.
            return [.registerTaskDefinition, .createTaskSet(.new, percent: 100), .waitTaskSetHealthy(.new),
                    .runHook(.preTraffic), .routeTraffic(percent: 100), .runHook(.postShift)]
                + postDeployWatch(settings) + [.promote(.new), .deleteTaskSet(.previous)]
        case (.canary, _), (.linear, _):
            var stages: [Stage] = [.registerTaskDefinition]
            for (i, percent) in shiftPercents(strategy, settings).enumerated() {
                stages += i == 0 ? [.createTaskSet(.new, percent: percent)] : [.scaleTaskSet(.new, percent: percent)]
                stages += [.waitTaskSetHealthy(.new)] + (i == 0 ? [.runHook(.preTraffic)] : [])
                stages += [.routeTraffic(percent: percent), .runHook(.postShift),
                           .bake(seconds: shiftBake(strategy, settings), reason: "\(strategy.rawValue) at \(percent)%")]
            }
            return stages + [.promote(.new), .deleteTaskSet(.previous)]
        case (.bluegreen, _):
            return [.registerTaskDefinition, .createTaskSet(.new, percent: 100), .waitTaskSetHealthy(.new),
                    .runHook(.preTraffic), .routeTraffic(percent: 100), .runHook(.postShift),
                    .bake(seconds: settings.stabilizationTime.seconds, reason: "stabilization"), .promote(.new),
                    .bake(seconds: settings.cleanupDelay.seconds, reason: "cleanup delay"), .deleteTaskSet(.previous)]
        case (.rolling, _):
            var stages: [Stage] = [.registerTaskDefinition]
            for (i, percent) in batches(settings.batchSize).enumerated() {
                stages += i == 0 ? [.createTaskSet(.new, percent: percent)] : [.scaleTaskSet(.new, percent: percent)]
                stages += [.waitTaskSetHealthy(.new)] + (i == 0 ? [.runHook(.preTraffic)] : [])
                stages += [.routeTraffic(percent: percent),
                           .scaleTaskSet(.previous, percent: 100 - percent), .runHook(.postShift)]
                if percent < 100 { stages.append(.bake(seconds: settings.batchDelay.seconds, reason: "batch delay")) }
            }
            return stages + [.promote(.new), .deleteTaskSet(.previous)]
        }
    }

    /// Quicksync's optional watch once the new revision takes all the traffic
    /// (`post_deploy_watch`): a bake, with the alarms and health checks of any bake.
    static func postDeployWatch(_ settings: DeploymentSettings) -> [Stage] {
        settings.postDeployWatch > .zero ? [.bake(seconds: settings.postDeployWatch.seconds, reason: "post-deploy watch")] : []
    }

    /// The traffic shares of a canary (its stages), or of linear on task sets: a step of
    /// `linear_step_percent` (10 unless set; whole percents) at a time.
    static func shiftPercents(_ strategy: StrategyKind, _ settings: DeploymentSettings) -> [Int] {
        strategy == .linear ? batches(Int((settings.linearStepPercent ?? 10).rounded(.up))) : settings.canaryStages
    }

    /// How long each share bakes: `stage_timeout`, or for linear `linear_step_bake` where set.
    static func shiftBake(_ strategy: StrategyKind, _ settings: DeploymentSettings) -> Double {
        (strategy == .linear ? settings.linearStepBake ?? settings.stageTimeout : settings.stageTimeout).seconds
    }

    /// 25 -> [25, 50, 75, 100]; 30 -> [30, 60, 90, 100].
    static func batches(_ size: Int) -> [Int] {
        var out: [Int] = []
        var p = 0
        while p < 100 {
            p = min(100, p + max(1, size))
            out.append(p)
        }
        return out
    }

    /// Compensating stages for what the facts say was done; empty when nothing changed.
    /// Traffic always goes back to the old task set (and is verified) before anything is
    /// deleted.
    public static func rollbackStages(facts: DeploymentFacts) -> [Stage] {
        if facts.native == true { return [.rollBackServiceDeployment] }
        if facts.serviceUpdated {
            return facts.previousTaskDefinition == nil ? [] : [.updateService(.previous), .waitStable(.previous)]
        }
        // Deleted, or being deleted (draining: it cannot take traffic or become PRIMARY again).
        let previousGone = facts.previousTaskSetDeleted || facts.previousTaskSetDeleting == true
        guard facts.newTaskSet != nil || previousGone else { return [] }
        var stages: [Stage] = []
        let movesTraffic = facts.trafficPercent != 0 || previousGone
        if previousGone {
            // Bring the previous revision back as a task set (the one still there when it is
            // not draining yet, at full scale).
            stages.append(.createTaskSet(.previous, percent: 100))
            if let scaled = facts.previousScale, scaled < 100 { stages.append(.scaleTaskSet(.previous, percent: 100)) }
            stages.append(.waitTaskSetHealthy(.previous))
        } else if let scaled = facts.previousScale, scaled < 100 {
            stages += [.scaleTaskSet(.previous, percent: 100), .waitTaskSetHealthy(.previous)]
        } else if movesTraffic, facts.previousTaskSet != nil {
            // Traffic goes back only to a previous task set that is healthy.
            stages.append(.waitTaskSetHealthy(.previous))
        }
        if movesTraffic { stages.append(.routeTraffic(percent: 0)) }
        if facts.promoted { stages.append(.promote(.previous)) }
        if facts.newTaskSet != nil { stages.append(.deleteTaskSet(.new)) }
        return stages
    }
}
