// Written by hand (not generated): `make proto` leaves this file alone.

extension Deployment_V1_DeploymentStatus {
    /// The status as the proto names it (`PENDING_APPROVAL`), as the client and the dashboard show it.
    public var name: String {
        switch self {
        case .pending: "PENDING"
        case .pendingApproval: "PENDING_APPROVAL"
        case .inProgress: "IN_PROGRESS"
        case .succeeded: "SUCCEEDED"
        case .failed: "FAILED"
        case .rollingBack: "ROLLING_BACK"
        case .rolledBack: "ROLLED_BACK"
        case .rejected: "REJECTED"
        case .interrupted: "INTERRUPTED"
        case .waitingWindow: "WAITING_WINDOW"
        case .unspecified, .UNRECOGNIZED: "UNKNOWN"
        }
    }
}
