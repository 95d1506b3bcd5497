import Foundation

/// Receives every deployment event as it is recorded (metrics, logs, later the audit log),
/// and every drift report. Called on the engine's executor: keep it quick and non-blocking.
public protocol DeploymentObserver: Sendable {
    func observe(_ event: DeploymentEvent, record: DeploymentRecord)
    func drift(_ report: DriftReport)
}

extension DeploymentObserver {
    public func drift(_ report: DriftReport) {}
}
