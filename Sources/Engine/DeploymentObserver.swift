import Foundation

/// Receives every deployment event as it is recorded (metrics, logs, the audit log), and every
/// drift report. Called on the engine's executor, in the events' order: keep it quick and
/// non-blocking (write, do not wait for a disk: that is `settle`).
public protocol DeploymentObserver: Sendable {
    func observe(_ event: DeploymentEvent, record: DeploymentRecord)
    /// Returns once what was observed so far is durable; the engine awaits it after the change's
    /// save, before the change is reported as done (the audit log flushes here, once for all
    /// the changes that came meanwhile).
    func settle() async
    func drift(_ report: DriftReport)
    /// The store refused to save the record (the engine goes on; the next change saves it
    /// whole again).
    func saveFailed(_ record: DeploymentRecord, error: any Error)
}

extension DeploymentObserver {
    public func settle() async {}
    public func drift(_ report: DriftReport) {}
    public func saveFailed(_ record: DeploymentRecord, error: any Error) {}
}
