import Foundation

/// Receives every deployment event as it is recorded (metrics, logs, later the audit log),
/// and every drift report. Called on the engine's executor: keep it quick and non-blocking.
public protocol DeploymentObserver: Sendable {
    func observe(_ event: DeploymentEvent, record: DeploymentRecord)
    func drift(_ report: DriftReport)
    /// The store refused to save the record (the engine goes on; the next change saves it
    /// whole again).
    func saveFailed(_ record: DeploymentRecord, error: any Error)
}

extension DeploymentObserver {
    public func drift(_ report: DriftReport) {}
    public func saveFailed(_ record: DeploymentRecord, error: any Error) {}
}
