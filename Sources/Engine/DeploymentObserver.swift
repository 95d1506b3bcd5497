import Foundation

/// Receives every deployment event as it is recorded (metrics, logs, later the audit log).
/// Called on the engine's executor: keep it quick and non-blocking.
public protocol DeploymentObserver: Sendable {
    func observe(_ event: DeploymentEvent, record: DeploymentRecord)
}
