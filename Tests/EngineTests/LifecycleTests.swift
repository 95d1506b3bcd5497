@testable import Engine
import Foundation
import Testing

/// Every transition of a deployment's lifecycle, without an engine: what it records and what
/// it tells the engine to do.
@Suite struct DeploymentLifecycleTests {
    typealias Lifecycle = DeploymentLifecycle

    func lifecycle(_ status: DeploymentStatus, durable: Bool = true) -> Lifecycle {
        let request = DeploymentRequest(id: "d1", cluster: "c", service: "web", strategy: .quicksync, taskDefinition: "{}")
        var record = DeploymentRecord(request: request, settings: DeploymentSettings(), plan: [], at: Date(timeIntervalSince1970: 0))
        record.status = status
        return Lifecycle(record, durable: durable)
    }

    @Test func acceptedRunsOrWaitsForApproval() throws {
        var running = lifecycle(.pending)
        #expect(try running.handle(.accepted(needsApproval: false)) == [.startRun(resumed: false)])
        #expect(running.status == .pending)
        var waiting = lifecycle(.pending)
        #expect(try waiting.handle(.accepted(needsApproval: true)) == [.armApprovalTimer])
        #expect(waiting.status == .pendingApproval)
        #expect(try waiting.handle(.approved) == [.disarmApprovalTimer, .startRun(resumed: false)])
        #expect(waiting.status == .pending)
        #expect(try waiting.handle(.started) == [])
        #expect(waiting.status == .inProgress)
    }

    @Test func rejectionEndsOnlyWhatWaits() throws {
        var waiting = lifecycle(.pendingApproval)
        #expect(try waiting.handle(.rejected("rejected by bob")) == [.disarmApprovalTimer, .reject("rejected by bob")])
        #expect(waiting.status == .rejected)
        var running = lifecycle(.inProgress)
        #expect(throws: EngineError.self) { try running.handle(.rejected("late")) }
        #expect(throws: EngineError.self) { try running.handle(.approved) }
        #expect(running.status == .inProgress)
    }

    @Test func forwardOutcomes() throws {
        var done = lifecycle(.inProgress)
        #expect(try done.handle(.forwardEnded(.completed)) == [.succeed])
        #expect(done.status == .succeeded)
        var failed = lifecycle(.inProgress)
        #expect(try failed.handle(.forwardEnded(.failed("boom"))) == [.rollBack("boom")])
        #expect(try failed.handle(.rollbackStarted) == [])
        #expect(failed.status == .rollingBack)
        #expect(try failed.handle(.rollbackEnded(.completed, reason: "boom")) == [.rolledBack("boom")])
        #expect(failed.status == .rolledBack)
        var undone = lifecycle(.rollingBack)
        #expect(try undone.handle(.rollbackEnded(.failed("stuck"), reason: "boom")) == [.rollbackFailed(reason: "boom", error: "stuck")])
        #expect(undone.status == .failed)
    }

    @Test func rollbackWhileRunningStopsTheStagesThenRollsBackOnANewTask() throws {
        var running = lifecycle(.inProgress)
        #expect(try running.handle(.rollbackRequested("asked by amy")) == [.cancelRun])
        #expect(running.status == .rollingBack)
        #expect(running.stop == .rollback("asked by amy"))
        // Asked twice: refused, the first one stands.
        #expect(throws: EngineError.self) { try running.handle(.rollbackRequested("again")) }
        // The stages end (cancelled, or they happened to complete): the rollback runs all the same.
        #expect(try running.handle(.forwardEnded(.completed)) == [.startRollback("asked by amy")])
        #expect(running.stop == nil)
        #expect(running.status == .rollingBack)
    }

    @Test func rollbackOfAFinishedDeployment() throws {
        for status in [DeploymentStatus.succeeded, .failed, .interrupted] {
            var finished = lifecycle(status)
            #expect(try finished.handle(.rollbackRequested("why")) == [.startRollback("why")])
            #expect(finished.status == .rollingBack)
        }
        for status in [DeploymentStatus.pendingApproval, .rollingBack, .rolledBack, .rejected] {
            var other = lifecycle(status)
            #expect(throws: EngineError.self) { try other.handle(.rollbackRequested("why")) }
            #expect(other.status == status)
        }
    }

    @Test func rollbackRefusedWhileTheSuccessIsBeingRecorded() throws {
        var ending = lifecycle(.inProgress)
        _ = try ending.handle(.forwardEnded(.completed))
        // The post-success hook runs before SUCCEEDED is recorded: a rollback waits for the end.
        #expect(throws: EngineError.self) { try ending.handle(.rollbackRequested("too soon")) }
        #expect(ending.status == .succeeded)
    }

    @Test func shutdownCheckpointsWithADurableStoreElseInterrupts() throws {
        var durable = lifecycle(.inProgress, durable: true)
        #expect(try durable.handle(.shutdown) == [.cancelRun])
        #expect(durable.stoppingForShutdown)
        // A rollback asked once the shutdown began is refused as unavailable.
        #expect(throws: EngineError.self) { try durable.handle(.rollbackRequested("late")) }
        #expect(try durable.handle(.forwardEnded(.cancelled)) == [.checkpoint])
        #expect(durable.status == .inProgress)
        var memory = lifecycle(.inProgress, durable: false)
        _ = try memory.handle(.shutdown)
        #expect(try memory.handle(.forwardEnded(.completed)) == [.interrupt])
        #expect(memory.status == .interrupted)
        // The shutdown overrides a rollback asked before it: the rollback resumes at the next start.
        var rolling = lifecycle(.inProgress, durable: true)
        _ = try rolling.handle(.rollbackRequested("asked"))
        #expect(try rolling.handle(.shutdown) == [.cancelRun])
        #expect(try rolling.handle(.forwardEnded(.cancelled)) == [.checkpoint])
        #expect(rolling.status == .rollingBack)
        // Nothing running: nothing to stop.
        var waiting = lifecycle(.pendingApproval)
        #expect(try waiting.handle(.shutdown) == [])
    }

    @Test func recovery() throws {
        var waiting = lifecycle(.pendingApproval)
        #expect(try waiting.handle(.recovered(.resume)) == [.armApprovalTimer])
        var rolling = lifecycle(.rollingBack)
        #expect(try rolling.handle(.recovered(.resume)) == [.continueRollback])
        var running = lifecycle(.inProgress)
        #expect(try running.handle(.recovered(.resume)) == [.startRun(resumed: true)])
        var undo = lifecycle(.inProgress)
        #expect(try undo.handle(.recovered(.rollback)) == [.startRollback(Lifecycle.recoveryRollback)])
    }
}
