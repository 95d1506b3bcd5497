import Engine

// Without a service group (engine and release manager tests), the work runs on a task of its
// own until `shutdown` closes it.
extension DeploymentEngine {
    /// Starts running the engine's work (`run()`), and returns the engine.
    public nonisolated func started() -> DeploymentEngine {
        Task { await run() }
        return self
    }
}

extension ReleaseManager {
    /// Starts running the release manager's work (`run()`), and returns the manager.
    public nonisolated func started() -> ReleaseManager {
        Task { await run() }
        return self
    }
}
