import CloudModel
import Foundation

/// Which side of a deployment a stage acts on: what this deployment brings (`new`), or what
/// the service ran before it (`previous`).
public enum Revision: String, Sendable, Codable {
    case new, previous
}

/// A small, idempotent step of a deployment. Strategies are lists of stages; rollback is a
/// list of compensating stages computed from the recorded facts (see `Plan`).
public enum Stage: Sendable, Codable, Equatable {
    case registerTaskDefinition
    /// ECS controller: point the service at a task definition.
    case updateService(Revision)
    /// ECS controller: wait until the service is stable on a task definition.
    case waitStable(Revision)
    /// EXTERNAL controller: a task set of that revision at `percent` of the service's tasks,
    /// behind its own target group.
    case createTaskSet(Revision, percent: Int)
    case scaleTaskSet(Revision, percent: Int)
    /// Task set steady, its tasks running and its targets healthy.
    case waitTaskSetHealthy(Revision)
    /// Send `percent` of the traffic to the new target group and the rest to the old one,
    /// then read the listener and rules back until they show exactly that.
    case routeTraffic(percent: Int)
    /// Hold while watching health; any failure fails the stage.
    case bake(seconds: Double, reason: String)
    case promote(Revision)
    case deleteTaskSet(Revision)
    case runHook(HookPoint)
    /// ECS controller with ECS's own blue/green, linear or canary: UpdateService with the
    /// strategy, and the service deployment ECS starts found.
    case startServiceDeployment
    /// Follow ECS's service deployment to its end (its lifecycle stages as progress; our
    /// approval at a PAUSE hook).
    case followServiceDeployment
    /// Undo it: stop ECS's deployment with a rollback, or (once it finished) deploy the
    /// previous revision again.
    case rollBackServiceDeployment

    public var name: String {
        switch self {
        case .registerTaskDefinition: "registerTaskDefinition"
        case .updateService(.new): "updateService"
        case .updateService(.previous): "restorePreviousTaskDefinition"
        case .waitStable(.new): "waitForStability"
        case .waitStable(.previous): "waitForStabilityOnPrevious"
        case .createTaskSet(let r, let p): "createTaskSet(\(r.rawValue), \(p)%)"
        case .scaleTaskSet(let r, let p): "scaleTaskSet(\(r.rawValue), \(p)%)"
        case .waitTaskSetHealthy(let r): "waitTaskSetHealthy(\(r.rawValue))"
        case .routeTraffic(let p): "routeTraffic(\(p)%)"
        case .bake(let s, let reason): "bake(\(GoDuration.format(.seconds(s))), \(reason))"
        case .promote(let r): "promote(\(r.rawValue))"
        case .deleteTaskSet(let r): "deleteTaskSet(\(r.rawValue))"
        case .runHook(let p): "hook(\(p.rawValue))"
        case .startServiceDeployment: "startServiceDeployment"
        case .followServiceDeployment: "followServiceDeployment"
        case .rollBackServiceDeployment: "rollBackServiceDeployment"
        }
    }

    /// The stage only reads the cloud (it waits for something to show): running it again after
    /// a restart changes nothing, so its end need not be saved on its own. A bake is not one of
    /// them: running it again would hold the deployment as long again.
    var onlyReads: Bool {
        switch self {
        case .waitStable, .waitTaskSetHealthy, .followServiceDeployment: true
        default: false
        }
    }

    /// Share of the progress bar: waiting and baking take the time.
    var weight: Double {
        switch self {
        case .waitStable, .waitTaskSetHealthy: 20
        case .followServiceDeployment, .rollBackServiceDeployment: 60
        case .bake(let s, _): max(5, min(40, s / 15))
        default: 5
        }
    }
}
