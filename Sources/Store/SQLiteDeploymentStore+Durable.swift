import Engine

extension SQLiteDeploymentStore {
    /// Records outlive the process: unfinished deployments resume at the next start.
    public var isDurable: Bool { true }
}
