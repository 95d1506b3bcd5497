/// What a run of steps came to.
public enum StepOutcome: Sendable, Equatable {
    case completed, failed(String), cancelled
}

/// What a sequence of steps runs on: a deployment's stages of one phase (`DeploymentRunner`),
/// a release's scheduled-task entry (`ScheduledTaskSteps`). The host says which step is next
/// from what its record says is done, executes it, and records each step's start and end.
protocol StepHost: Sendable {
    associatedtype Step: Sendable
    associatedtype Facts

    /// The first step not done yet, with its index; `.done` when every one is; `.gone` when
    /// the record is no longer held here (the run stops as cancelled).
    func nextStep() async -> NextStep<Step>
    func stepStarted(_ index: Int, _ step: Step) async
    func execute(_ step: Step, index: Int) async throws -> StepResult<Facts>
    /// Records the step's success and what it learned, in one save.
    func stepSucceeded(_ index: Int, _ step: Step, _ result: StepResult<Facts>) async
    /// Records the failure; returns how the run's failure reads.
    func stepFailed(_ index: Int, _ step: Step, _ error: any Error) async -> String
    /// The task was cancelled while the step ran.
    func stepStopped(_ index: Int, _ step: Step) async
}

enum NextStep<Step> {
    case step(Int, Step)
    case done
    case gone
}

extension StepHost {
    /// Runs the steps not done, in order, until all succeed, one fails, or the task is
    /// cancelled. The one loop for every kind of step: each step is recorded started, then
    /// succeeded (with what it learned) or failed, before the next one starts.
    func runSteps() async -> StepOutcome {
        while true {
            if Task.isCancelled { return .cancelled }
            let index: Int, step: Step
            switch await nextStep() {
            case .done: return .completed
            case .gone: return .cancelled
            case .step(let i, let s): (index, step) = (i, s)
            }
            await stepStarted(index, step)
            do {
                let result = try await execute(step, index: index)
                await stepSucceeded(index, step, result)
            } catch is CancellationError {
                await stepStopped(index, step)
                return .cancelled
            } catch {
                return .failed(await stepFailed(index, step, error))
            }
        }
    }
}

/// What a step did: its message and, when it learned something last (the ARN it registered,
/// the task set it created), the facts it changed. The host records both with the step's
/// success, in one save. A step that only has a message returns it as a string.
struct StepResult<Facts>: Sendable, ExpressibleByStringInterpolation {
    struct Learned: Sendable {
        /// What was learned, for the event that records it.
        let note: String
        let change: @Sendable (inout Facts) -> Void
    }

    let message: String
    let learned: Learned?

    init(_ message: String, learned note: String, _ change: @escaping @Sendable (inout Facts) -> Void) {
        self.message = message
        self.learned = Learned(note: note, change: change)
    }

    init(_ message: String) {
        self.message = message
        self.learned = nil
    }

    init(stringLiteral message: String) { self.init(message) }

    init(stringInterpolation: DefaultStringInterpolation) {
        self.init(String(stringInterpolation: stringInterpolation))
    }
}

/// What a deployment's stage did.
typealias StageResult = StepResult<DeploymentFacts>
