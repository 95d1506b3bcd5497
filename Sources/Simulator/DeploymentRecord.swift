import CloudModel
import Foundation

/// One deployment of a service with the ECS deployment controller.
struct DeploymentRecord: Codable {
    let id: String
    /// PRIMARY or ACTIVE (a deployment that has no task left is removed).
    var status: String
    let taskDefinition: String
    var failedTasks = 0
    /// IN_PROGRESS, COMPLETED or FAILED.
    var rolloutState: String
    var rolloutStateReason: String?
    let createdAt: Date
    var updatedAt: Date
    /// Started by the circuit breaker; never rolled back again.
    let isRollback: Bool

    init(id: String, taskDefinition: String, rolloutState: String = "IN_PROGRESS", reason: String? = nil,
         at t: Date, isRollback: Bool = false) {
        self.id = id
        self.status = "PRIMARY"
        self.taskDefinition = taskDefinition
        self.rolloutState = rolloutState
        self.rolloutStateReason = reason
        self.createdAt = t
        self.updatedAt = t
        self.isRollback = isRollback
    }

    var isPrimary: Bool { status == "PRIMARY" }

    /// `desired` is the service's desired count for the PRIMARY; an ACTIVE deployment wants the
    /// tasks it still has.
    func snapshot(tasks: [TaskRecord], serviceDesired: Int, at t: Date) -> ServiceDeployment {
        var running = 0, pending = 0, live = 0
        for task in tasks where task.owner == id {
            switch task.lastStatus(at: t) {
            case "RUNNING": running += 1
            case "PROVISIONING", "PENDING": pending += 1
            default: break
            }
            if task.isLive { live += 1 }
        }
        return ServiceDeployment(
            id: id, status: status, taskDefinition: taskDefinition,
            desiredCount: isPrimary ? serviceDesired : live, pendingCount: pending, runningCount: running,
            failedTasks: failedTasks, rolloutState: rolloutState, rolloutStateReason: rolloutStateReason,
            createdAt: createdAt, updatedAt: updatedAt)
    }
}
