import CloudModel
import Foundation
import Synchronization
import CloudRuntime

/// An in-memory ECS + ELBv2 + EventBridge + STS, deterministic and driven by an injected clock.
///
/// Nothing runs in the background: each call plays the services it touches forward from their
/// last evaluated instant to `clock.now()`, one task transition at a time (see `Faults.swift`
/// for the timings and the faults). All state sits behind one mutex; calls never suspend.
///
/// Use `cloud` to talk to it as the engine does (calls are counted and, with
/// `settings.throttle`, throttled as AWS throttles); calling the methods directly skips both.
public final class SimulatedCloud: ECSAPI, ELBAPI, EventsAPI, IdentityAPI, CloudWatchAPI, TopicsAPI, Sendable {
    public let clock: any DeployClock
    public let settings: SimulatorSettings
    let state: Mutex<SimulatorState>
    private let counter = CallCounter()
    private let enforcer: ThrottleEnforcer?
    private let faults: APIFaultInjector?
    /// Where every change is saved (mock mode), if anywhere.
    private let stateFile: SimulatorStateFile?

    /// - Parameters:
    ///   - saved: a cloud saved by an earlier run, to go on from (its clock must not start
    ///     before `saved.savedAt`).
    ///   - stateFile: where to save the cloud after every call that changes it.
    public init(clock: any DeployClock, settings: SimulatorSettings = .init(), restoring saved: SavedSimulator? = nil,
                savingTo stateFile: SimulatorStateFile? = nil) {
        self.clock = clock
        self.settings = settings
        var state = saved?.state ?? SimulatorState(settings: settings)
        state.settings = settings
        self.state = Mutex(state)
        self.stateFile = stateFile
        self.enforcer = settings.throttle.map { ThrottleEnforcer(limits: $0, clock: clock, background: settings.backgroundCalls) }
        self.faults = settings.apiFaults.flatMap { $0.total > 0 ? APIFaultInjector(rates: $0, seed: settings.seed) : nil }
    }

    /// The simulator as the engine sees it: every call counted, then (with `settings.apiFaults`)
    /// perhaps failed on purpose, then (with `settings.throttle`) subject to AWS's throttle buckets.
    public var cloud: Cloud { layered.cloud }

    private var layered: MiddlewareCloud {
        let inner = Cloud(ecs: self, elb: self, events: self, identity: self, cloudWatch: self, topics: self)
        let layers: [any CloudMiddleware] = [counter] + (faults.map { [$0] } ?? []) + (enforcer.map { [$0] } ?? [])
        return MiddlewareCloud(inner, middleware: layers)
    }

    /// An operation that `Cloud` does not name (the engine never calls it) as a call of `cloud`:
    /// counted, faulted, throttled.
    public func throughCloud<T: Sendable>(_ service: String, _ operation: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await layered.run(service, operation) { try body() }
    }

    /// ECS's DeregisterTaskDefinition through `cloud` (see `throughCloud`).
    public func deregisterThroughCloud(_ taskDefinition: String) async throws -> TaskDefinition {
        try await throughCloud("ecs", "DeregisterTaskDefinition") { try self.deregisterTaskDefinition(taskDefinition) }
    }

    /// Calls made through `cloud`, by `service:Operation` (e.g. `ecs:UpdateService`).
    public var callCounts: [String: Int] { counter.calls }
    /// Calls through `cloud` answered with `ThrottlingException`.
    public var throttledCount: Int { counter.throttled }
    /// Faults injected through `cloud` (`settings.apiFaults`), by kind (`APIFault` raw values).
    public var injectedFaults: [String: Int] { faults?.injected ?? [:] }
    /// CPU seconds spent answering calls through `cloud` (what a benchmark of the engine
    /// leaves out: on AWS this work is AWS's).
    public var cpuSeconds: Double { counter.cpuSeconds }
    /// Every applied ModifyListener / ModifyRule, in order.
    public var weightChanges: [WeightChange] { state.withLock { $0.weightChanges } }
    /// Target groups found receiving traffic with nothing live behind them (checked at every
    /// weight change, task set delete and task set scaled to 0%). Should stay empty.
    public var trafficViolations: [String] { state.withLock { $0.trafficViolations } }

    // MARK: faults

    /// The next `times` calls of `operation` (AWS name, e.g. "UpdateService") throw
    /// `CloudError(code:message:)`. The status defaults to 500 for server-side codes, else 400.
    public func failNext(operation: String, code: String, message: String, times: Int = 1, httpStatus: Int? = nil) {
        let serverSide = [CloudError.server, "InternalFailure", "ServiceUnavailable", "InternalError"].contains(code)
        let error = CloudError(code: code, message: message, httpStatus: httpStatus ?? (serverSide ? 500 : 400))
        state.withLock { $0.faults.add(operation: operation, error: error, times: times) }
    }

    /// Tasks launched from now on with exactly this image behave as told, whatever its tag.
    public func setImageBehavior(image: String, _ behavior: ImageBehavior) {
        state.withLock { $0.imageBehaviors[image] = behavior }
    }

    /// Back to the behaviour the image's tag asks for.
    public func clearImageBehavior(image: String) {
        _ = state.withLock { $0.imageBehaviors.removeValue(forKey: image) }
    }

    // MARK: plumbing

    /// Runs `body` on the state at `clock.now()`, after the queued fault of `operation`, if any.
    /// With a state file, a call that may change the cloud (not a Describe, List or Get that
    /// created nothing) saves it before it answers.
    func withState<T: Sendable>(_ operation: String?, _ body: (inout SimulatorState, Date) throws -> T) throws -> T {
        let now = clock.now()
        let (result, save) = state.withLock { s -> (Result<T, any Error>, (state: StateSnapshot, sequence: UInt64)?) in
            let result: Result<T, any Error>
            do {
                if let operation { try s.takeFault(operation) }
                result = .success(try body(&s, now))
            } catch {
                result = .failure(error)
            }
            guard let stateFile, Self.mayChange(operation) || s.createdOnRead else { return (result, nil) }
            s.createdOnRead = false
            s.saves += 1
            guard stateFile.changed(save: { [weak self] in self?.flushStateFile() }) else { return (result, nil) }
            // A snapshot, encoded outside the lock: other calls go on meanwhile.
            return (result, (StateSnapshot(state: s.snapshot()), s.saves))
        }
        if let save { stateFile?.save(save.state, at: now, sequence: save.sequence) }
        return try result.get()
    }

    /// Saves the cloud to its state file now (mock mode saves at a pace: see `SimulatorStateFile`).
    public func flushStateFile() {
        guard let stateFile else { return }
        let now = clock.now()
        let (snapshot, sequence) = state.withLock { (StateSnapshot(state: $0.snapshot()), $0.saves) }
        stateFile.save(snapshot, at: now, sequence: sequence)
    }

    /// Whether a call of `operation` may change the cloud (set-up calls, named nil, do).
    static func mayChange(_ operation: String?) -> Bool {
        guard let operation else { return true }
        return !["Describe", "List", "Get"].contains { operation.hasPrefix($0) }
    }
}
