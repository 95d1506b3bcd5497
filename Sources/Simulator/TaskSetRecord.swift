import CloudModel
import Foundation

/// One task set of a service with the EXTERNAL deployment controller.
struct TaskSetRecord: Codable {
    let id: String
    let arn: String
    let serviceArn: String
    let clusterArn: String
    /// PRIMARY, ACTIVE or DRAINING.
    var status: String
    let taskDefinition: String
    let externalId: String?
    var scale: Scale
    var computedDesiredCount: Int
    /// STABILIZING or STEADY_STATE.
    var stabilityStatus = "STABILIZING"
    let loadBalancers: [LoadBalancerRef]
    let clientToken: String?
    /// launchType, networkConfiguration, ... as given to CreateTaskSet, echoed back.
    var launchSettings: JSONValue?
    let createdAt: Date
    var updatedAt: Date

    /// Whether an id or ARN given by a caller names this task set.
    func matches(_ reference: String) -> Bool {
        reference == id || reference == arn || reference.split(separator: "/").last == id.split(separator: "/").last
    }

    /// Still serving: not DRAINING and scaled above zero.
    var isLive: Bool { status != "DRAINING" && scale.value > 0 }

    func routes(to targetGroupArn: String) -> Bool {
        loadBalancers.contains { $0.targetGroupArn == targetGroupArn }
    }

    func snapshot(tasks: [TaskRecord], at t: Date) -> TaskSet {
        var running = 0, pending = 0
        for task in tasks where task.owner == id {
            switch task.lastStatus(at: t) {
            case "RUNNING": running += 1
            case "PROVISIONING", "PENDING": pending += 1
            default: break
            }
        }
        return TaskSet(
            id: id, taskSetArn: arn, serviceArn: serviceArn, clusterArn: clusterArn, status: status,
            taskDefinition: taskDefinition, externalId: externalId, computedDesiredCount: computedDesiredCount,
            pendingCount: pending, runningCount: running, scale: scale, stabilityStatus: stabilityStatus,
            loadBalancers: loadBalancers, launchSettings: launchSettings, createdAt: createdAt, updatedAt: updatedAt)
    }
}
