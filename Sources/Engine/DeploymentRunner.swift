import CloudModel
import Foundation

/// Executes stages against the cloud. The only code that awaits the cloud; the decisions it
/// makes are pure functions of what the cloud answered (`ServiceStability`, `TaskSetHealth`,
/// `TrafficPlan`).
struct DeploymentRunner: Sendable {
    enum Phase { case forward, rollback }
    typealias Outcome = StepOutcome

    let engine: DeploymentEngine
    let env: EngineEnvironment
    let settings: DeploymentSettings

    var cloud: Cloud { env.cloud }
    var clock: any DeployClock { env.clock }
    /// Timestamps of records (see `EngineEnvironment.wallClock`).
    var wallClock: any DeployClock { env.wallClock }

    /// Runs the phase's pending stages in order until all succeed, one fails, or the task
    /// is cancelled (`StepHost.runSteps`). Each stage may wait at most `settings.timeout`
    /// (bakes last their own length).
    func run(_ id: String, phase: Phase) async -> Outcome {
        await PhaseStages(runner: self, id: id, phase: phase).runSteps()
    }

    /// The stages of one phase of a deployment, as steps: recorded in the deployment's record.
    struct PhaseStages: StepHost {
        let runner: DeploymentRunner
        let id: String
        let phase: Phase

        func nextStep() async -> NextStep<Stage> {
            guard let record = await runner.engine.record(id) else { return .gone }
            let stages = phase == .forward ? record.stages : record.rollbackStages
            guard let index = stages.firstIndex(where: { $0.status == .pending || $0.status == .running }) else { return .done }
            return .step(index, stages[index].stage)
        }

        func context(_ index: Int) -> StageContext {
            StageContext(id: id, phase: phase, index: index, deadline: runner.clock.now().adding(runner.settings.timeout))
        }

        func stepStarted(_ index: Int, _ stage: Stage) async {
            // Not saved on its own: a stage found running at a restart runs again, as a pending one does.
            await runner.update(context(index), status: .running, event: .stageStarted, durable: false) {
                $0.startedAt = runner.wallClock.now()
            }
        }

        func execute(_ stage: Stage, index: Int) async throws -> StageResult {
            try await runner.execute(stage, context(index))
        }

        func stepSucceeded(_ index: Int, _ stage: Stage, _ result: StageResult) async {
            if let learned = result.learned {
                // Saved with the success below: one save for the transition.
                await runner.engine.mutate(id, event: .factsRecorded, message: learned.note, durable: false) { learned.change(&$0.facts) }
            }
            // A wait's end is saved by the next change's save: run again after a restart, a wait
            // only reads (the next stage's first change, or the end, is saved before it goes on).
            await runner.update(context(index), status: .succeeded, event: .stageSucceeded, message: result.message,
                                durable: !stage.onlyReads) {
                $0.finishedAt = runner.wallClock.now()
                $0.fraction = 1
            }
        }

        func stepFailed(_ index: Int, _ stage: Stage, _ error: any Error) async -> String {
            if error is AnalysisFailure {
                await runner.engine.mutate(id, event: .analysisFailed, message: "\(error)", durable: false) { _ in }
            }
            await runner.update(context(index), status: .failed, event: .stageFailed, message: "\(error)") {
                $0.finishedAt = runner.wallClock.now()
            }
            return "\(stage.name): \(error)"
        }

        func stepStopped(_ index: Int, _ stage: Stage) async {
            if await runner.engine.checkpointing {
                // The server is stopping and the record outlives it: the stage runs again at the next start.
                await runner.update(context(index), status: .pending, event: .stageCheckpointed,
                                    message: "stopped by shutdown; runs again at the next start")
            } else {
                await runner.update(context(index), status: .failed, event: .stageCancelled, message: "stopped") {
                    $0.finishedAt = runner.wallClock.now()
                }
            }
        }
    }

    struct StageContext: Sendable {
        let id: String
        let phase: Phase
        let index: Int
        let deadline: Date
    }

    func update(_ c: StageContext, status: StageStatus, event: DeploymentEventKind, message: String = "", durable: Bool = true,
                _ change: @escaping @Sendable (inout StageRecord) -> Void = { _ in }) async {
        await engine.mutate(c.id, event: event, stage: "", message: message, durable: durable) { record in
            func apply(_ s: inout StageRecord) {
                s.status = status
                if !message.isEmpty { s.message = message }
                change(&s)
            }
            if c.phase == .forward { apply(&record.stages[c.index]) } else { apply(&record.rollbackStages[c.index]) }
        }
    }

    /// Reports progress within a stage (0...1) when the message changed.
    func progress(_ c: StageContext, _ message: String, fraction: Double) async {
        await update(c, status: .running, event: .stageProgress, message: message, durable: false) {
            $0.fraction = min(0.99, max(0, fraction))
        }
    }

    /// Records what the stage learned or is about to do, saved before the stage goes on (the
    /// next cloud call may depend on it).
    func setFacts(_ id: String, _ message: String, _ change: @escaping @Sendable (inout DeploymentFacts) -> Void) async {
        await engine.mutate(id, event: .factsRecorded, message: message) { change(&$0.facts) }
    }

    func facts(_ id: String) async throws -> DeploymentFacts {
        guard let record = await engine.record(id) else { throw CancellationError() }
        return record.facts
    }

    func execute(_ stage: Stage, _ c: StageContext) async throws -> StageResult {
        guard let record = await engine.record(c.id) else { throw CancellationError() }
        let request = record.request
        switch stage {
        case .registerTaskDefinition:
            return try await registerTaskDefinition(c, request, record.facts)
        case .updateService(let revision):
            return try await updateService(c, request, revision)
        case .waitStable(let revision):
            return try await waitStable(c, request, target: try taskDefinition(revision, record.facts))
        case .createTaskSet(let revision, let percent):
            return try await createTaskSet(c, request, revision, percent: percent)
        case .scaleTaskSet(let revision, let percent):
            return try await scaleTaskSet(c, request, revision, percent: percent)
        case .waitTaskSetHealthy(let revision):
            return try await waitTaskSetHealthy(c, request, revision)
        case .routeTraffic(let percent):
            return try await routeTraffic(c, percent: percent)
        case .bake(let seconds, _):
            return try await bake(c, request, seconds: seconds)
        case .promote(let revision):
            return try await promote(c, request, revision)
        case .deleteTaskSet(let revision):
            return try await deleteTaskSet(c, request, revision)
        case .runHook(let point):
            return try await runHook(point, c, record)
        case .startServiceDeployment:
            return try await startServiceDeployment(c, request)
        case .followServiceDeployment:
            return try await followServiceDeployment(c, request)
        case .rollBackServiceDeployment:
            return try await rollBackServiceDeployment(c, request)
        }
    }

    func taskDefinition(_ revision: Revision, _ facts: DeploymentFacts) throws -> String {
        let arn = revision == .new ? facts.newTaskDefinition : facts.previousTaskDefinition
        guard let arn else { throw StageError("no \(revision.rawValue) task definition recorded") }
        return arn
    }

    func describeService(_ request: DeploymentRequest) async throws -> ECSService {
        let found = try await cloud.ecs.describeServices(cluster: request.cluster, services: [request.service])
        guard let service = found.first else { throw StageError("service \(request.serviceKey) not found") }
        return service
    }

    /// Sleeps about one poll interval, or less when the deadline is closer; fails past the
    /// deadline. The pause ends on a tick of the interval (see `pauseToNextTick`).
    func pollPause(until deadline: Date, waitingFor what: @autoclosure () -> String) async throws {
        let now = clock.now()
        let left = deadline.timeIntervalSince(now)
        if left <= 0 { throw StageError("timed out waiting for \(what())") }
        try await clock.sleep(for: min(Self.pauseToNextTick(now: now, interval: settings.pollInterval), .seconds(left)))
    }

    /// The pause until the next multiple of `interval` on the clock that is at least half an
    /// interval away (so from 0.5 to 1.5 intervals, one on average). Every deployment with the
    /// same interval wakes on the same ticks, so that their reads of one cluster's services go
    /// out together and are merged into DescribeServices calls of up to 10 services (see
    /// `ReadCoalescer`): a release of 50 services polls with about 6 calls, not 50.
    static func pauseToNextTick(now: Date, interval: Duration) -> Duration {
        let period = interval.seconds
        guard period > 0 else { return interval }
        var pause = period - now.timeIntervalSinceReferenceDate.truncatingRemainder(dividingBy: period)
        if pause < period / 2 { pause += period }
        return .seconds(pause)
    }

    /// One line describing where the service is now, for failure and interruption records.
    func describeServiceState(_ request: DeploymentRequest) async -> String {
        guard let service = try? await describeService(request) else { return "the service's state could not be read" }
        if service.deploymentController == .external {
            let sets = service.taskSets.map {
                "\($0.status) \($0.id) \($0.taskDefinition.arnResourceName) scale \(Int($0.scale.value))% \($0.runningCount)/\($0.computedDesiredCount.map(String.init) ?? "?")"
            }
            return "service left with task sets: \(sets.joined(separator: "; "))"
        }
        let deployments = service.deployments.map {
            "\($0.status) \($0.taskDefinition.arnResourceName) \($0.runningCount)/\($0.desiredCount) \($0.rolloutState ?? "")"
        }
        return "service left on \(service.taskDefinition?.arnResourceName ?? "?") (deployments: \(deployments.joined(separator: "; ")))"
    }
}

struct StageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
