import CloudModel
import Engine
import Foundation
import Logging
import Simulator
import Testing
import CloudRuntime
import TestSupport

/// Releases reading more task definitions than `ReleasePlanner.wholePlanLimit` (50) without
/// approval start at once; each entry reads its task definition as it starts.
@Suite struct PipelinedReleaseTests {
    struct World {
        let clock = ManualClock()
        let sim: SimulatedCloud
        let releases: ReleaseManager

        init(services n: Int, store: any ReleaseStore = InMemoryReleaseStore()) throws {
            var settings = SimulatorSettings()
            settings.healthCheck = 5
            settings.throttle = .aws
            sim = SimulatedCloud(clock: clock, settings: settings)
            for i in 1...n {
                let td = try sim.seedTaskDefinition(family: "svc-\(i)", image: "repo/svc-\(i):1")
                try sim.createService(cluster: "prod", name: "svc-\(i)", taskDefinition: td.arn!, desiredCount: 1)
            }
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let layers: [any CloudMiddleware] = [RetryMiddleware(policy: RetryPolicy(maxRetries: 5, timeout: nil), clock: clock),
                                                 RateLimiterMiddleware(limits: .aws, clock: clock)]
            let env = EngineEnvironment(cloud: MiddlewareCloud(sim.cloud, middleware: layers).cloud.coalescingServiceReads(clock: clock),
                                        clock: clock, logger: logger)
            releases = ReleaseManager(engine: DeploymentEngine(environment: env).started(), environment: env, store: store).started()
        }

        static func entries(_ n: Int, container: (Int) -> String? = { _ in nil }) -> [ReleaseEntry] {
            (1...n).map { i in
                ReleaseEntry(kind: .service, label: "svc-\(i)", cluster: "prod", service: "svc-\(i)", image: "repo/svc-\(i):2",
                             containerName: container(i))
            }
        }

        /// Submits and drives the clock until the release ends (at most a simulated hour).
        func run(_ request: ReleaseRequest) async throws -> ReleaseRecord {
            let submitted = Task { try await releases.submit(request) }
            let start = clock.now()
            var record: ReleaseRecord?
            while record?.status.isTerminal != true && clock.now().timeIntervalSince(start) < 3600 {
                await clock.waitUntilIdle()
                if !clock.advanceToNextDeadline() { try await Task.sleep(for: .microseconds(200)) }
                record = try? await releases.status(id: request.id)
            }
            _ = try await submitted.value
            return try await releases.status(id: request.id)
        }
    }

    @Test func entriesStartBeforeEveryTaskDefinitionIsRead() async throws {
        let w = try World(services: 80)
        let final = try await w.run(ReleaseRequest(id: "r1", name: "big", entries: World.entries(80)))
        #expect(final.status == .succeeded, "\(final.error)")
        #expect(final.entries.allSatisfy { $0.status == .succeeded })
        #expect(final.events.first?.message == "80 entries, each planned as it starts")
        let started = final.events.filter { $0.type == "entry.started" }.map(\.at)
        #expect(started.count == 80)
        // DescribeTaskDefinition's bucket holds 50 and refills 20/s, so reading all 80 takes
        // 1.5 s: planned whole, no entry could start before then. Pipelined, the first starts
        // at once (the bound leaves room for a busy machine's leaps of the test clock), and
        // the last 30 read theirs (20/s) and start over a second later.
        let accepted = try #require(final.events.first?.at)
        #expect(try #require(started.min()).timeIntervalSince(accepted) < 1.5)
        #expect(try #require(started.max()).timeIntervalSince(accepted) > 1)
        #expect(final.entries.allSatisfy { $0.oldImages.count == 1 && $0.newTaskDefinitionJSON != nil })
        #expect(w.sim.throttledCount == 0)
    }

    @Test func aMissingServiceStillRefusesTheReleaseBeforeAnythingChanges() async throws {
        let w = try World(services: 60)
        var entries = World.entries(60)
        entries.append(ReleaseEntry(kind: .service, label: "gone", cluster: "prod", service: "gone", image: "repo/gone:2"))
        await #expect(throws: EngineError.self) {
            _ = try await w.releases.submit(ReleaseRequest(id: "r1", name: "big", entries: entries))
        }
        #expect(w.sim.callCounts["ecs:RegisterTaskDefinition"] == nil)
        #expect(w.sim.callCounts["ecs:DescribeTaskDefinition"] == nil)
        #expect(await w.releases.contains("r1") == false)
    }

    @Test func aProblemFoundWithTheTaskDefinitionFailsThatEntry() async throws {
        let w = try World(services: 60)
        let request = ReleaseRequest(id: "r1", name: "big", entries: World.entries(60) { $0 == 7 ? "sidecar" : nil },
                                     onFailure: .continue)
        let final = try await w.run(request)
        #expect(final.status == .failed)
        let bad = final.entries[6]
        #expect(bad.status == .failed)
        #expect(bad.error.contains("the entry cannot be planned") && bad.error.contains("container sidecar not found"), "\(bad.error)")
        #expect(final.entries.enumerated().allSatisfy { $0.offset == 6 || $0.element.status == .succeeded })
    }

    @Test func entriesStillReadingTheirTaskDefinitionDoNotStartOnceTheReleaseStops() async throws {
        let w = try World(services: 80)
        let request = ReleaseRequest(id: "r1", name: "big", entries: World.entries(80) { $0 == 1 ? "sidecar" : nil }, onFailure: .stop)
        let final = try await w.run(request)
        #expect(final.status == .failed)
        #expect(final.entries[0].status == .failed)
        // 30 entries wait for their DescribeTaskDefinition token; by then the release has stopped.
        let notStarted = final.entries.filter { $0.status == .notStarted }
        #expect(notStarted.count >= 10)
        #expect(notStarted.allSatisfy { $0.deploymentID == nil })
        #expect((w.sim.callCounts["ecs:RegisterTaskDefinition"] ?? 0) == final.entries.filter { $0.status == .succeeded }.count)
    }

    @Test func smallReleasesArePlannedWhole() async throws {
        let w = try World(services: 3)
        let request = ReleaseRequest(id: "r1", name: "small", entries: World.entries(3) { $0 == 2 ? "sidecar" : nil })
        await #expect(throws: EngineError.self) { _ = try await w.releases.submit(request) }
        #expect(w.sim.callCounts["ecs:RegisterTaskDefinition"] == nil)
    }
}
