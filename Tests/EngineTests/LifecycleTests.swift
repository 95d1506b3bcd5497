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
        #expect(durable.stop == .shutdown)
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
        // Nothing running: nothing to stop; once the server stopped, one waiting for approval
        // ends INTERRUPTED unless its record outlives the process.
        var waiting = lifecycle(.pendingApproval, durable: false)
        #expect(try waiting.handle(.shutdown) == [])
        #expect(try waiting.handle(.serverStopped) == [.interrupt])
        #expect(waiting.status == .interrupted)
        var kept = lifecycle(.pendingApproval, durable: true)
        #expect(try kept.handle(.serverStopped) == [])
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

/// Every transition of a release's lifecycle, without a release manager.
@Suite struct ReleaseLifecycleTests {
    typealias Lifecycle = ReleaseLifecycle

    func lifecycle(_ status: DeploymentStatus, onFailure: ReleaseFailurePolicy = .rollback, durable: Bool = true) -> Lifecycle {
        let request = ReleaseRequest(id: "r1", name: "r1",
                                     entries: (0..<2).map { ReleaseEntry(kind: .service, label: "s\($0)", cluster: "c", service: "s\($0)", image: "app:2") },
                                     onFailure: onFailure)
        let states = request.entries.map {
            EntryState(entry: $0, status: .pending, oldImages: [], newImage: "app:2", updatedTargets: [], error: "")
        }
        var record = ReleaseRecord(request: request, entries: states, at: Date(timeIntervalSince1970: 0))
        record.status = status
        return Lifecycle(record, durable: durable)
    }

    @Test func acceptedWaitsRunsOrHasNothingToDo() throws {
        var idle = lifecycle(.pending)
        #expect(try idle.handle(.accepted(changes: 0, needsApproval: true)) == [.nothingToChange])
        #expect(idle.status == .succeeded)
        var waiting = lifecycle(.pending)
        #expect(try waiting.handle(.accepted(changes: 2, needsApproval: true)) == [.requestApproval])
        #expect(waiting.status == .pendingApproval)
        #expect(try waiting.handle(.approved) == [.startRun(resumed: false)])
        #expect(throws: EngineError.self) { try waiting.handle(.rejected("late")) }
        var rejected = lifecycle(.pendingApproval)
        #expect(try rejected.handle(.rejected("no")) == [.reject("no")])
        #expect(rejected.status == .rejected)
    }

    /// Held before it starts (its time, its windows); a rollback then cancels it: the run
    /// starts nothing and rolls back nothing.
    @Test func heldBeforeItStartsAndCancelledByARollback() throws {
        var held = lifecycle(.pending)
        #expect(try held.handle(.held(window: true)) == [])
        #expect(held.status == .waitingWindow)
        #expect(try held.handle(.held(window: false)) == [])
        #expect(held.status == .pending)
        _ = try held.handle(.held(window: true))
        #expect(try held.handle(.rollbackRequested) == [])
        #expect(held.stopping && held.rollbackAsked && held.status == .waitingWindow)
        #expect(try held.handle(.runEnded(unfinished: false, failed: false)) == [.rollBackEntries])
        var running = lifecycle(.inProgress)
        #expect(try running.handle(.held(window: true)) == [])
        #expect(running.status == .inProgress)
    }

    @Test func aFailureStopsNewStartsOnceUnderAStoppingPolicy() throws {
        var rollback = lifecycle(.inProgress, onFailure: .rollback)
        #expect(try rollback.handle(.entryFailed(1)) == [.stopStarts(after: 1, rollBackRunning: true)])
        #expect(rollback.stopping)
        #expect(try rollback.handle(.entryFailed(0)) == [])
        #expect(try rollback.handle(.runEnded(unfinished: false, failed: true)) == [.rollBackEntries])
        #expect(rollback.status == .rollingBack)
        #expect(try rollback.handle(.rollbackEnded(left: false, serverStopping: false)) == [.rolledBack])
        #expect(rollback.status == .rolledBack)
        var stop = lifecycle(.inProgress, onFailure: .stop)
        #expect(try stop.handle(.entryFailed(0)) == [.stopStarts(after: 0, rollBackRunning: false)])
        #expect(try stop.handle(.runEnded(unfinished: false, failed: true)) == [.fail])
        #expect(stop.status == .failed)
        var goOn = lifecycle(.inProgress, onFailure: .continue)
        #expect(try goOn.handle(.entryFailed(0)) == [])
        #expect(!goOn.stopping)
        #expect(try goOn.handle(.runEnded(unfinished: false, failed: false)) == [.succeed])
        #expect(goOn.status == .succeeded)
    }

    @Test func rollbackAskedWhileRunningRollsBackOnceTheEntriesSettle() throws {
        var running = lifecycle(.inProgress, onFailure: .continue)
        #expect(try running.handle(.rollbackRequested) == [])
        #expect(running.stopping && running.rollbackAsked)
        #expect(running.status == .inProgress)
        #expect(try running.handle(.runEnded(unfinished: false, failed: false)) == [.rollBackEntries])
        #expect(try running.handle(.rollbackEnded(left: true, serverStopping: false)) == [.rollbackIncomplete])
        #expect(running.status == .failed)
    }

    @Test func rollbackOfAFinishedRelease() throws {
        for status in [DeploymentStatus.succeeded, .failed, .interrupted] {
            var finished = lifecycle(status)
            #expect(try finished.handle(.rollbackRequested) == [.startRollback])
            #expect(finished.status == .rollingBack)
        }
        for status in [DeploymentStatus.pendingApproval, .rollingBack, .rolledBack, .rejected] {
            var other = lifecycle(status)
            #expect(throws: EngineError.self) { try other.handle(.rollbackRequested) }
        }
        // Its success being recorded: refused until the final event is recorded.
        var ending = lifecycle(.inProgress)
        _ = try ending.handle(.runEnded(unfinished: false, failed: false))
        #expect(throws: EngineError.self) { try ending.handle(.rollbackRequested) }
        ending.endRecorded()
        #expect(try ending.handle(.rollbackRequested) == [.startRollback])
    }

    @Test func theServerStopping() throws {
        var durable = lifecycle(.inProgress, durable: true)
        #expect(try durable.handle(.runEnded(unfinished: true, failed: false)) == [.checkpoint])
        #expect(durable.status == .inProgress)
        var memory = lifecycle(.inProgress, durable: false)
        #expect(try memory.handle(.runEnded(unfinished: true, failed: false)) == [.interrupt])
        #expect(memory.status == .interrupted)
        var rolling = lifecycle(.rollingBack, durable: true)
        #expect(try rolling.handle(.rollbackEnded(left: true, serverStopping: true)) == [.checkpoint])
        var waiting = lifecycle(.pendingApproval, durable: false)
        #expect(try waiting.handle(.serverStopped) == [.interrupt])
        var kept = lifecycle(.pendingApproval, durable: true)
        #expect(try kept.handle(.serverStopped) == [])
    }

    @Test func recovery() throws {
        let some = Lifecycle.Input.recovered(changes: 2, hasEntries: true, awaitingApproval: false)
        var waiting = lifecycle(.pendingApproval)
        #expect(try waiting.handle(some) == [])
        var rolling = lifecycle(.rollingBack)
        #expect(try rolling.handle(some) == [.continueRollback])
        var running = lifecycle(.inProgress)
        #expect(try running.handle(some) == [.startRun(resumed: true)])
        var unapproved = lifecycle(.pending)
        #expect(try unapproved.handle(.recovered(changes: 2, hasEntries: true, awaitingApproval: true)) == [.requestApproval])
        #expect(unapproved.status == .pendingApproval)
        var approved = lifecycle(.pending)
        #expect(try approved.handle(some) == [.startRun(resumed: true)])
        var done = lifecycle(.pending)
        #expect(try done.handle(.recovered(changes: 0, hasEntries: true, awaitingApproval: false)) == [.nothingToChange])
        #expect(done.status == .succeeded)
        var unread = lifecycle(.pending)
        #expect(try unread.handle(.recovered(changes: 0, hasEntries: false, awaitingApproval: false))
            == [.unreadable("the server stopped before the outcome of the release was recorded")])
        #expect(unread.status == .failed)
    }
}
