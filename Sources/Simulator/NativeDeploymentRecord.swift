import CloudModel
import Foundation

/// One service deployment of ECS's own blue/green, linear or canary (a service with the ECS
/// controller, `deploymentConfiguration.strategy` other than ROLLING, and a load balancer
/// with `advancedConfiguration`): the target revision's tasks start in the target group that
/// does not take production traffic, then ECS moves the test and production listener rules
/// to it, bakes, and stops the source revision's tasks.
struct NativeDeploymentRecord: Codable {
    let arn: String
    /// The service's deployment (its `deployments` entry, the tasks' owner) of each side.
    let deploymentID: String
    let sourceDeploymentID: String?
    let targetRevisionArn: String
    let sourceRevisionArn: String?
    let sourceTargetGroup: String
    let targetTargetGroup: String
    let productionRule: String
    let testRule: String?
    let configuration: DeploymentConfiguration
    var status: String
    var statusReason: String?
    /// The lifecycle stage, or a hook point (`PRE_PRODUCTION_TRAFFIC_SHIFT`) shown as the stage it precedes.
    var stage: String
    /// Percent of production (and test) traffic on the target revision.
    var productionWeight: Double = 0
    var testWeight: Double = 0
    /// When the current timed step (a bake, a linear step) ends.
    var stepAt: Date?
    var hooks: [NativeHookRecord] = []
    var rollback: ServiceDeploymentRollback?
    var breakerFailures = 0
    var breakerTripped = false
    var triggeredAlarms: [String]?
    let createdAt: Date
    var startedAt: Date?
    var finishedAt: Date?
    var stoppedAt: Date?
    var updatedAt: Date

    init(arn: String, deploymentID: String, sourceDeploymentID: String?, targetRevisionArn: String, sourceRevisionArn: String?,
         sourceTargetGroup: String, targetTargetGroup: String, productionRule: String, testRule: String?,
         configuration: DeploymentConfiguration, at t: Date) {
        self.arn = arn
        self.deploymentID = deploymentID
        self.sourceDeploymentID = sourceDeploymentID
        self.targetRevisionArn = targetRevisionArn
        self.sourceRevisionArn = sourceRevisionArn
        self.sourceTargetGroup = sourceTargetGroup
        self.targetTargetGroup = targetTargetGroup
        self.productionRule = productionRule
        self.testRule = testRule
        self.configuration = configuration
        self.status = "PENDING"
        self.stage = "RECONCILE_SERVICE"
        self.createdAt = t
        self.updatedAt = t
    }

    /// Moving forward (not yet rolling back or ended).
    var isAdvancing: Bool { status == "PENDING" || status == "IN_PROGRESS" }
    var isRollingBack: Bool { status == "ROLLBACK_IN_PROGRESS" }
    /// Moving forward, before CLEAN_UP stops the source revision's tasks.
    var canRollBack: Bool { isAdvancing && stage != "CLEAN_UP" }

    /// The stages in order; hook points that are not lifecycle stages of their own included.
    static let sequence = ["RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
                           "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
                           "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"]

    /// The lifecycle stage DescribeServiceDeployments shows.
    var shownStage: String { stage == "PRE_PRODUCTION_TRAFFIC_SHIFT" ? "PRODUCTION_TRAFFIC_SHIFT" : stage }

    /// The next instant after `t` at which it changes on its own (a step's end, a hook's time-out).
    func nextEvent(after t: Date) -> Date? {
        guard isAdvancing else { return nil }
        var next: Date?
        func consider(_ time: Date?) {
            if let time, time > t, next == nil || time < next! { next = time }
        }
        consider(stepAt)
        for hook in hooks where hook.status == "AWAITING_ACTION" { consider(hook.expiresAt) }
        return next
    }
}

/// A lifecycle hook reached at one stage.
struct NativeHookRecord: Codable {
    let id: String
    let stage: String
    let targetType: String
    let targetArn: String?
    var status: String
    let expiresAt: Date?
    let timeoutAction: String?
}

/// A service revision: what one deployment runs.
struct ServiceRevisionRecord: Codable {
    let arn: String
    let taskDefinition: String
    let targetGroup: String?
    let createdAt: Date
}
