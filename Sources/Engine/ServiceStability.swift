import CloudModel
import Foundation

/// Whether an ECS-controller service has settled on a task definition. Pure, so that the
/// decision is tested without a cloud. Follows ECS's `services-stable` waiter (one
/// deployment, running == desired) and adds what the waiter misses: the PRIMARY deployment
/// must be on the expected task definition and its rollout must not have failed.
public enum ServiceStability: Equatable, Sendable {
    case stable
    /// Still rolling out: tasks of the target revision running out of desired.
    case progressing(running: Int, desired: Int)
    case failed(String)

    public static func evaluate(_ service: ECSService, target: String) -> ServiceStability {
        if service.status != "ACTIVE" {
            return .failed("service \(service.serviceName) is \(service.status)")
        }
        guard let primary = service.primaryDeployment else {
            return .progressing(running: 0, desired: service.desiredCount)
        }
        if primary.taskDefinition != target {
            let other = primary.taskDefinition.arnResourceName
            return .failed("the service's primary deployment is on \(other), not \(target.arnResourceName) "
                + "(ECS rolled back, or the service was changed by someone else)")
        }
        if primary.rolloutState == "FAILED" {
            let reason = primary.rolloutStateReason.map { ": \($0)" } ?? ""
            return .failed("ECS rollout failed\(reason)")
        }
        let settled = service.deployments.count == 1 && primary.runningCount == primary.desiredCount
            && service.runningCount == service.desiredCount && primary.pendingCount == 0
            && (primary.rolloutState == nil || primary.rolloutState == "COMPLETED")
        return settled ? .stable : .progressing(running: primary.runningCount, desired: primary.desiredCount)
    }
}
