import CloudModel
@testable import Engine
import Foundation
import Simulator
import Testing
import TestSupport

/// A graceful shutdown with records that outlive the process: deployments and releases are
/// checkpointed, refuse what this process can no longer do, and resume on a second engine and
/// release manager on the same stores (a restart).
@Suite struct CheckpointTests {
    static let canary: [String: String] = ["canary_stages": "50,100", "stage_timeout": "5m", "stabilization_time": "1m",
                                           "cleanup_delay": "1m"]

    /// Moves the clock until `done` holds (each step to the next sleeper's deadline).
    static func advance(_ h: EngineHarness, until done: () async throws -> Bool) async throws {
        let start = h.clock.now()
        while try await !done() {
            guard h.clock.now().timeIntervalSince(start) < 6 * 3600 else { throw HarnessError("the condition never held") }
            await h.clock.waitUntilIdle()
            if !h.clock.advanceToNextDeadline() { try await Task.sleep(for: .milliseconds(1)) }
        }
    }

    static func engine(on h: EngineHarness) -> DeploymentEngine {
        DeploymentEngine(environment: h.environment).started()
    }

    @Test func aCheckpointedDeploymentRefusesRollbackAndApprovalThenResumes() async throws {
        let store = DurableMemoryStore()
        let h = try EngineHarness(store: store)
        _ = try await h.engine.submit(h.request("c1", strategy: .canary, config: Self.canary))
        try await Self.advance(h) { try await h.engine.status(id: "c1").currentStage.hasPrefix("bake") }
        await h.engine.shutdown(timeout: .zero)

        let checkpointed = try await h.engine.status(id: "c1")
        #expect(checkpointed.status == .inProgress)
        #expect(checkpointed.events.last?.type == "deployment.checkpointed")
        // A release or a client asking for a rollback now gets an answer, not a crash.
        await #expect(throws: EngineError(.unavailable, "the server is shutting down; try again later")) {
            try await h.engine.rollback(id: "c1", requestedBy: "release r1", reason: "release rolling back")
        }

        // The next process, before it recovered the deployment, refuses too; after, it resumes it.
        let next = Self.engine(on: h)
        await #expect(throws: EngineError.self) { try await next.rollback(id: "c1", requestedBy: "alice", reason: "") }
        #expect(try await next.recover(.resume) == 1)
        try await Self.advance(h) { try await next.status(id: "c1").status.isTerminal }
        let final = try await next.status(id: "c1")
        #expect(final.status == .succeeded, "\(final.error)")
        #expect(final.events.contains { $0.type == "deployment.recovered" })
        #expect(h.service.taskSets.map(\.taskDefinition).allSatisfy { $0.hasSuffix("web:2") })
    }

    /// The process stopped after a rollback was asked and recorded, before the rollback
    /// started (no rollback stage recorded): the next one rolls back from the plan, instead of
    /// checking a rollback that never ran.
    @Test func aRollbackAskedButNotStartedRunsAfterTheRestart() async throws {
        let store = DurableMemoryStore()
        let h = try EngineHarness(store: store)
        let done = try await h.run(h.request("q1", strategy: .quicksync))
        #expect(done.status == .succeeded)
        var asked = try #require(try await store.load(id: "q1"))
        asked.status = .rollingBack
        asked.finishedAt = nil
        asked.events.append(asked.nextEvent(.rollbackRequested, subject: "", at: h.clock.now(), message: "rollback requested by alice"))
        try await store.save(asked)

        let next = Self.engine(on: h)
        #expect(try await next.recover(.resume) == 1)
        try await Self.advance(h) { try await next.status(id: "q1").status.isTerminal }
        let final = try await next.status(id: "q1")
        #expect(final.status == .rolledBack, "\(final.error)")
        #expect(final.events.contains { $0.kind == .rollbackStarted && $0.message == "rollback requested by alice" })
        #expect(h.service.taskSets.map(\.taskDefinition).allSatisfy { $0.hasSuffix("web:1") })
    }

    @Test func aReleaseCheckpointedAtShutdownResumesOnTheNextManager() async throws {
        let deployments = DurableMemoryStore()
        let releases = DurableReleaseStore()
        let h = try EngineHarness(store: deployments)
        let first = ReleaseManager(engine: h.engine, environment: h.environment, store: releases).started()
        let entry = ReleaseEntry(kind: .service, label: "web", cluster: "prod", service: "web", image: "web:2", strategy: .canary,
                                 config: Self.canary)
        let request = ReleaseRequest(id: "r1", name: "spring", entries: [entry])
        _ = try await first.submit(request)
        try await Self.advance(h) {
            guard let id = try await first.status(id: "r1").entries.first?.deploymentID else { return false }
            return try await h.engine.status(id: id).currentStage.hasPrefix("bake")
        }
        await first.shutdown(timeout: .zero)

        let stored = try #require(try await releases.loadRelease(id: "r1"))
        #expect(stored.status == .inProgress)
        #expect(stored.events.last?.type == "release.checkpointed")
        #expect(stored.entries.map(\.status) == [.inProgress], "the checkpointed deployment is not a failure")
        await #expect(throws: EngineError(.unavailable, "the server is shutting down; try again later")) {
            try await first.rollback(id: "r1", requestedBy: "alice", reason: "")
        }

        let engine = Self.engine(on: h)
        let next = ReleaseManager(engine: engine, environment: h.environment, store: releases).started()
        #expect(try await next.submit(request).existing, "the id is taken across the restart")
        #expect(try await engine.recover(.resume) == 1)
        #expect(try await next.recover() == 1)
        // Finished, and the final state saved (the task ends after the save).
        try await Self.advance(h) {
            let done = try await next.status(id: "r1").status.isTerminal
            let running = await next.runningCount
            return done && running == 0
        }
        let final = try await next.status(id: "r1")
        #expect(final.status == .succeeded, "\(final.error)")
        #expect(final.entries.map(\.status) == [.succeeded])
        #expect(final.events.map(\.type).contains("release.recovered"))
        #expect(final.events.map(\.type).contains("entry.resumed"))
        #expect(try await releases.loadRelease(id: "r1") == final)
        #expect(try await next.list().map(\.id) == ["r1"])
    }

    @Test func aReleaseWaitingForApprovalStillWaitsAfterARestart() async throws {
        let releases = DurableReleaseStore()
        let h = try EngineHarness(store: DurableMemoryStore())
        let first = ReleaseManager(engine: h.engine, environment: h.environment, store: releases).started()
        let entry = ReleaseEntry(kind: .service, label: "web", cluster: "prod", service: "web", image: "web:2", strategy: .canary,
                                 config: Self.canary)
        _ = try await first.submit(ReleaseRequest(id: "r2", name: "gated", entries: [entry], requireApproval: true))
        await first.shutdown(timeout: .zero)
        #expect(try await releases.loadRelease(id: "r2")?.status == .pendingApproval)

        let next = ReleaseManager(engine: Self.engine(on: h), environment: h.environment, store: releases).started()
        #expect(try await next.recover() == 1)
        #expect(try await next.status(id: "r2").status == .pendingApproval)
        _ = try await next.approve(id: "r2", approver: "alice", reason: "go")
        try await Self.advance(h) {
            let done = try await next.status(id: "r2").status.isTerminal
            let running = await next.runningCount
            return done && running == 0
        }
        let final = try await next.status(id: "r2")
        #expect(final.status == .succeeded, "\(final.error)")
        #expect(final.approval?.approver == "alice")
    }
}

/// Deployment records in memory that the engine treats as durable (a restart is a second
/// engine on the same store).
final class DurableMemoryStore: ForwardingStore {
    let inner = InMemoryDeploymentStore()
    var isDurable: Bool { true }
}

/// Release records in memory, treated as durable.
final class DurableReleaseStore: ReleaseStore {
    private let inner = InMemoryReleaseStore()
    var isDurable: Bool { true }
    func save(_ change: ReleaseChange) async throws { try await inner.save(change) }
    func loadRelease(id: String) async throws -> ReleaseRecord? { try await inner.loadRelease(id: id) }
    func releaseIDs(startingWith prefix: String, limit: Int) async throws -> [String] {
        try await inner.releaseIDs(startingWith: prefix, limit: limit)
    }
    func listReleases(limit: Int, offset: Int) async throws -> [ReleaseRecord] { try await inner.listReleases(limit: limit, offset: offset) }
    func unfinishedReleases() async throws -> [ReleaseRecord] { try await inner.unfinishedReleases() }
    func purgeReleases(finishedBefore date: Date) async throws -> Int { try await inner.purgeReleases(finishedBefore: date) }
}
