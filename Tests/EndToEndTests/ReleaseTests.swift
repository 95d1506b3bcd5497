import CloudModel
import DeployAPI
import Foundation
import Server
import Simulator
import Testing

/// Releases through the real server and client, on the simulator with the test clock.
@Suite struct ReleaseTests {
    /// The second seed's sample, as written there.
    static let seedManifest = """
        tasks:
          - service: rating-cleanup
            cwRuleName: test-rating-cleanup
            image: "11111111111.dkr.ecr.us-west-2.amazonaws.com/rating-cleanup:2.0.0"
        services:
          - service: service-a
            clusterName: test-Cluster-0IEYQ2GqGmL7
            serviceName: test-movie-info-service-Service-TALkUbJVrBgS
            image: "11111111111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service:4.0.0"
        """

    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("deployment-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static var mockMode: SimulatorSettings {
        var s = SimulatorSettings()
        s.autoCreate = true
        s.autoCreateController = .external
        return s
    }

    // MARK: Helpers

    /// Seeds each name as an ECS service in `prod` running `repo/<name>:1`; returns the task
    /// definition ARN each one runs.
    static func seed(_ t: TestServer, _ names: [String]) throws -> [String: String] {
        var arns: [String: String] = [:]
        for name in names {
            let service = try t.seedService(cluster: "prod", name: name, image: "repo/\(name):1")
            let arn = try #require(service.taskDefinition)
            arns[name] = arn
        }
        return arns
    }

    /// Seeds the EventBridge rule `rule` with one ECS target running `repo/<family>:1`; returns
    /// that task definition's ARN.
    static func seedRule(_ t: TestServer, rule: String, family: String) throws -> String {
        let td = try t.sim.seedTaskDefinition(family: family, image: "repo/\(family):1")
        let arn = try #require(td.arn)
        _ = t.sim.createEventRule(name: rule, targets: [RuleTarget(json: .object([
            "Id": .string("t1"), "Arn": .string("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
            "RoleArn": .string("arn:aws:iam::123456789012:role/ecsEventsRole"),
            "EcsParameters": .object(["TaskDefinitionArn": .string(arn), "TaskCount": .number(1)]),
        ]))])
        return arn
    }

    /// A deployment.yaml: `header` lines, then the tasks, then the services (all in `prod`,
    /// service name = label).
    static func manifest(_ header: String = "", tasks: [(label: String, rule: String, image: String)] = [],
                         services: [(name: String, image: String)], waves: [String: Int] = [:]) -> String {
        var text = header.isEmpty ? "" : header + "\n"
        if !tasks.isEmpty {
            text += "tasks:\n"
            for task in tasks { text += "  - service: \(task.label)\n    cwRuleName: \(task.rule)\n    image: \(task.image)\n" }
        }
        text += "services:\n"
        for service in services {
            text += "  - service: \(service.name)\n    clusterName: prod\n    serviceName: \(service.name)\n    image: \(service.image)\n"
            if let wave = waves[service.name] { text += "    wave: \(wave)\n" }
        }
        return text
    }

    /// The release as the API returns it.
    static func release(_ t: TestServer, _ id: String) async throws -> Deployment_V1_Release {
        try await t.withAPI { api in
            var request = Deployment_V1_GetStatusRequest()
            request.deploymentID = id
            return try await api.getRelease(request)
        }
    }

    /// Every event of a finished release, in the order recorded (watch replays the history and
    /// ends, since the release has ended).
    static func events(_ t: TestServer, _ id: String) async throws -> [Deployment_V1_ReleaseEvent] {
        try await t.withAPI { api in
            var request = Deployment_V1_WatchRequest()
            request.deploymentID = id
            return try await api.watchRelease(request) { response in
                var events: [Deployment_V1_ReleaseEvent] = []
                for try await event in response.messages { events.append(event) }
                return events
            }
        }
    }

    static func entry(_ release: Deployment_V1_Release, _ label: String) throws -> Deployment_V1_ReleaseEntry {
        try #require(release.entries.first { $0.label == label }, "no entry \(label) in \(release.entries.map(\.label))")
    }

    static func event(_ events: [Deployment_V1_ReleaseEvent], _ type: String, _ entry: String) throws -> Deployment_V1_ReleaseEvent {
        try #require(events.first { $0.type == type && $0.entry == entry }, "no \(type) event for \(entry)")
    }

    static func images(_ t: TestServer, _ taskDefinition: String) throws -> [String] {
        try t.sim.describeTaskDefinition(taskDefinition).images.map(\.image)
    }

    /// The service runs exactly `arn`, with no other ECS deployment left.
    static func expectOn(_ t: TestServer, _ name: String, _ arn: String?, sourceLocation: SourceLocation = #_sourceLocation) {
        let service = t.service(name)
        #expect(service?.taskDefinition == arn, "\(name) runs \(service?.taskDefinition ?? "-")", sourceLocation: sourceLocation)
        #expect(service?.deployments.map(\.taskDefinition) == arn.map { [$0] }, "\(name)", sourceLocation: sourceLocation)
    }

    // MARK: Tests

    @Test func seedManifestRunsUnchangedInMockMode() async throws {
        let t = try await TestServer(simulator: Self.mockMode)
        let file = try Self.write(Self.seedManifest)
        let plan = await t.client(["-action", "plan", "-file", file])
        #expect(plan.code == 0, "\(plan.text)")
        #expect(plan.out.contains { $0.hasPrefix("  ~ task rating-cleanup (rule test-rating-cleanup)") }, "\(plan.text)")
        #expect(plan.out.contains { $0.hasPrefix("  ~ service service-a (test-Cluster-0IEYQ2GqGmL7/test-movie-info-service-Service-TALkUbJVrBgS)") })

        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "r1", "-wait"]) }
        #expect(result.code == 0, "\(result.text)")
        #expect(result.out.last?.hasPrefix("Release r1: SUCCEEDED") == true, "\(result.text)")
        let service = try #require(t.service(cluster: "test-Cluster-0IEYQ2GqGmL7", "test-movie-info-service-Service-TALkUbJVrBgS"))
        let td = try t.sim.describeTaskDefinition(service.taskSets.first!.taskDefinition)
        #expect(td.images.map(\.image) == ["11111111111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service:4.0.0"])
        let target = try #require(try t.sim.listTargetsByRule(rule: "test-rating-cleanup").first)
        let taskTD = try t.sim.describeTaskDefinition(try #require(target.taskDefinitionArn))
        #expect(taskTD.images.map(\.image) == ["11111111111.dkr.ecr.us-west-2.amazonaws.com/rating-cleanup:2.0.0"])
        #expect(target.json["RoleArn"] != nil, "PutTargets kept the target's other fields")

        // The same manifest again changes nothing.
        let again = await t.client(["-action", "release", "-file", file, "-id", "r2"])
        #expect(again.out.first == "Release r2 accepted: 0 of 2 entries to change, status SUCCEEDED", "\(again.text)")
        let status = await t.client(["-action", "status", "-id", "r1"])
        #expect(status.out.contains("Status:      SUCCEEDED"), "\(status.text)")
        try await t.stop()
    }

    @Test func brokenManifestNamesFileLineAndField() async throws {
        let t = try await TestServer(simulator: Self.mockMode)
        let file = try Self.write("services:\n  - service: a\n    clusterName: c\n    serviceName: s\n    imgae: x\n")
        let result = await t.client(["-action", "release", "-file", file])
        #expect(result.code == 1)
        let name = URL(fileURLWithPath: file).lastPathComponent
        #expect(result.err.first?.hasPrefix("error: \(name):") == true, "\(result.text)")
        #expect(result.err.first?.contains("services[0]") == true, "\(result.text)")
        try await t.stop()
    }

    /// 6 services and a scheduled task; one image never becomes healthy: the whole release
    /// rolls back. Every other entry was really changed (its deployment rolled out the new
    /// revision) and then restored: ROLLED_BACK, and on its exact previous revision.
    @Test func oneUnhealthyServiceRollsBackTheWholeRelease() async throws {
        let t = try await TestServer()
        let names = (1...6).map { "svc-\($0)" }
        let previous = try Self.seed(t, names)
        let ruleTD = try Self.seedRule(t, rule: "nightly-cleanup", family: "cleanup")
        let image = { (name: String) in name == "svc-4" ? "repo/svc-4:2-unhealthy" : "repo/\(name):2" }
        let file = try Self.write(Self.manifest(tasks: [("cleanup", "nightly-cleanup", "repo/cleanup:2")],
                                                services: names.map { ($0, image($0)) }))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "bad", "-wait"]) }
        #expect(result.code == 1)
        #expect(result.out.last?.hasPrefix("Release bad: ROLLED_BACK") == true, "\(result.text)")

        let release = try await Self.release(t, "bad")
        #expect(release.status == .rolledBack)
        #expect(release.error.contains("svc-4"), "\(release.error)")
        for name in names {
            let entry = try Self.entry(release, name)
            #expect(entry.status == "ROLLED_BACK", "\(name): \(entry.status) \(entry.error)")
            #expect(!entry.deploymentID.isEmpty, "\(name) never started")
            guard !entry.deploymentID.isEmpty else { continue }
            // Its deployment registered the new image, updated the service, and undid it.
            let deployment = try await t.status(entry.deploymentID)
            #expect(deployment.status == .rolledBack, "\(name): \(deployment.status)")
            #expect(deployment.previousTaskDefinitionArn == previous[name])
            #expect(deployment.taskDefinitionArn != previous[name])
            #expect(try Self.images(t, deployment.taskDefinitionArn) == [image(name)], "\(name)")
            #expect(!deployment.rollbackStages.isEmpty, "\(name) was 'rolled back' without having been changed")
            Self.expectOn(t, name, previous[name])
        }

        let task = try Self.entry(release, "cleanup")
        #expect(task.status == "ROLLED_BACK", "\(task.status) \(task.error)")
        let events = try await Self.events(t, "bad")
        #expect(events.contains { $0.type == "entry.succeeded" && $0.entry == "cleanup" }, "the rule target was repointed")
        #expect(events.contains { $0.type == "entry.rolled_back" && $0.entry == "cleanup" })
        #expect(try Self.images(t, "cleanup:2") == ["repo/cleanup:2"], "the new revision was registered")
        let targets = try t.sim.listTargetsByRule(rule: "nightly-cleanup")
        #expect(targets.count == 1)
        #expect(targets.first?.taskDefinitionArn == ruleTD)
        #expect(targets.first?.json["RoleArn"]?.stringValue == "arn:aws:iam::123456789012:role/ecsEventsRole")
        #expect(targets.first?.json["EcsParameters"]?["TaskCount"] == .number(1))

        let status = await t.client(["-action", "status", "-id", "bad"])
        #expect(status.out.contains { $0.contains("ROLLED_BACK") && $0.contains("service svc-4") }, "\(status.text)")
        try await t.stop()
    }

    /// A scheduled task whose rule refuses the new targets (PutTargets denied): its steps stop
    /// at the failed one (registered, not repointed), the entry fails with AWS's answer, and
    /// the release's policy rolls back the service it deployed. The rule keeps its target.
    @Test func aScheduledTaskThatCannotBeRepointedFailsTheRelease() async throws {
        let t = try await TestServer()
        let previous = try Self.seed(t, ["web"])
        let ruleTD = try Self.seedRule(t, rule: "nightly-report", family: "report")
        t.sim.failNext(operation: "PutTargets", code: "AccessDeniedException", message: "not allowed to put targets", times: 10)
        let file = try Self.write(Self.manifest(tasks: [("report", "nightly-report", "repo/report:2")], services: [("web", "repo/web:2")]))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "denied", "-wait"]) }
        #expect(result.code == 1, "\(result.text)")

        let release = try await Self.release(t, "denied")
        let task = try Self.entry(release, "report")
        #expect(task.status == "FAILED", "\(task.status)")
        #expect(task.error.contains("AccessDeniedException") && task.error.contains("not allowed to put targets"), "\(task.error)")
        let events = try await Self.events(t, "denied").filter { $0.entry == "report" }.map(\.type)
        #expect(Array(events.prefix(3)) == ["entry.started", "entry.registered", "entry.failed"], "\(events)")
        #expect(try Self.images(t, "report:2") == ["repo/report:2"], "the new revision was registered")
        #expect(try t.sim.listTargetsByRule(rule: "nightly-report").map(\.taskDefinitionArn) == [ruleTD])
        // Scheduled tasks go first: the service never started, and is where it was.
        let web = try Self.entry(release, "web")
        #expect(["NOT_STARTED", "ROLLED_BACK"].contains(web.status), "\(web.status)")
        Self.expectOn(t, "web", previous["web"])
        try await t.stop()
    }

    /// With maxParallel 2, the first failure stops new starts: what started is rolled back,
    /// what did not is NOT_STARTED and untouched, and no service is left on a new image.
    @Test func aFailureStopsNewStartsAndRollsBackWhatStarted() async throws {
        let t = try await TestServer()
        let names = (1...6).map { "svc-\($0)" }
        let previous = try Self.seed(t, names)
        let file = try Self.write(Self.manifest("maxParallel: 2",
                                                services: names.map { ($0, $0 == "svc-1" ? "repo/svc-1:2-unhealthy" : "repo/\($0):2") }))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "bounded", "-wait"]) }
        #expect(result.code == 1)
        #expect(result.out.last?.hasPrefix("Release bounded: ROLLED_BACK") == true, "\(result.text)")

        let release = try await Self.release(t, "bounded")
        var started: [String] = []
        var notStarted: [String] = []
        for name in names {
            let entry = try Self.entry(release, name)
            if entry.deploymentID.isEmpty {
                notStarted.append(name)
                #expect(entry.status == "NOT_STARTED", "\(name): \(entry.status)")
                #expect(throws: (any Error).self, "\(name) got no new revision") { try t.sim.describeTaskDefinition("\(name):2") }
            } else {
                started.append(name)
                #expect(entry.status == "ROLLED_BACK", "\(name): \(entry.status) \(entry.error)")
                #expect(try await t.status(entry.deploymentID).status == .rolledBack, "\(name)")
            }
            Self.expectOn(t, name, previous[name])
        }
        #expect(started.starts(with: ["svc-1", "svc-2"]), "\(started)")
        #expect(!notStarted.isEmpty && notStarted.last == "svc-6", "\(notStarted)")
        #expect(started + notStarted == names, "entries start in manifest order")
        try await t.stop()
    }

    /// Scheduled tasks go first; wave 2 starts only when every wave-1 service is done; the
    /// services of a wave deploy in parallel.
    @Test func wavesRunInOrderAfterTheScheduledTasks() async throws {
        let t = try await TestServer()
        let wave1 = ["front-a", "front-b", "front-c"]
        let wave2 = ["back-a", "back-b"]
        _ = try Self.seed(t, wave1 + wave2)
        _ = try Self.seedRule(t, rule: "nightly-report", family: "report")
        var waves: [String: Int] = [:]
        for name in wave1 { waves[name] = 1 }
        for name in wave2 { waves[name] = 2 }
        // Wave 2 is listed first: the wave decides the order, not the manifest.
        let file = try Self.write(Self.manifest(tasks: [("report", "nightly-report", "repo/report:2")],
                                                services: (wave2 + wave1).map { ($0, "repo/\($0):2") }, waves: waves))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "waves", "-wait"]) }
        #expect(result.code == 0, "\(result.text)")

        let release = try await Self.release(t, "waves")
        #expect(release.status == .succeeded)
        let events = try await Self.events(t, "waves")
        let taskDone = try Self.event(events, "entry.succeeded", "report")
        var deployments: [String: Deployment_V1_Deployment] = [:]
        for name in wave1 + wave2 {
            let started = try Self.event(events, "entry.started", name)
            #expect(started.sequence > taskDone.sequence, "\(name) started before the scheduled task was done")
            #expect(started.at.date >= taskDone.at.date)
            let entry = try Self.entry(release, name)
            #expect(entry.status == "SUCCEEDED")
            #expect(entry.wave == Int32(waves[name]!))
            deployments[name] = try await t.status(entry.deploymentID)
            #expect(try Self.images(t, try #require(t.service(name)?.taskDefinition)) == ["repo/\(name):2"])
        }
        let lastWave1Done = try wave1.map { try Self.event(events, "entry.succeeded", $0).sequence }.max()!
        let firstWave2Start = try wave2.map { try Self.event(events, "entry.started", $0).sequence }.min()!
        #expect(lastWave1Done < firstWave2Start, "a wave-2 service started before wave 1 was done")
        for late in wave2 {
            for early in wave1 {
                let (d2, d1) = (deployments[late]!, deployments[early]!)
                #expect(d1.hasFinishedAt)
                #expect(d2.createdAt.date >= d1.finishedAt.date, "\(late) created before \(early) finished")
            }
        }
        // Within wave 1 the services overlapped (parallel, no maxParallel).
        let wave1Starts = wave1.map { deployments[$0]!.createdAt.date }
        let wave1Ends = wave1.map { deployments[$0]!.finishedAt.date }
        #expect(wave1Starts.max()! < wave1Ends.min()!, "wave 1 ran one service after another")
        try await t.stop()
    }

    /// maxParallel 2 with 6 services: never more than 2 service deployments in progress.
    @Test func maxParallelBoundsTheDeploymentsInProgress() async throws {
        let t = try await TestServer()
        let names = (1...6).map { "api-\($0)" }
        _ = try Self.seed(t, names)
        let file = try Self.write(Self.manifest("maxParallel: 2", services: names.map { ($0, "repo/\($0):2") }))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "two", "-wait"]) }
        #expect(result.code == 0, "\(result.text)")

        let release = try await Self.release(t, "two")
        #expect(release.status == .succeeded)
        // From the deployments' own times: one that ends at the instant another starts does
        // not overlap it.
        var marks: [(at: Date, delta: Int)] = []
        for entry in release.entries {
            #expect(entry.status == "SUCCEEDED", "\(entry.label): \(entry.status)")
            let d = try await t.status(entry.deploymentID)
            #expect(d.status == .succeeded && d.hasFinishedAt)
            marks += [(d.createdAt.date, 1), (d.finishedAt.date, -1)]
        }
        marks.sort { $0.at != $1.at ? $0.at < $1.at : $0.delta < $1.delta }
        var running = 0
        var peak = 0
        for mark in marks {
            running += mark.delta
            peak = max(peak, running)
        }
        #expect(peak == 2, "at most 2 deployments at once, and 2 did overlap (peak \(peak))")
        // From the release's events, in the order recorded.
        var inFlight = 0
        var eventPeak = 0
        for e in try await Self.events(t, "two") where !e.entry.isEmpty {
            if e.type == "entry.started" { inFlight += 1 }
            if ["entry.succeeded", "entry.failed"].contains(e.type) { inFlight -= 1 }
            eventPeak = max(eventPeak, inFlight)
        }
        #expect(eventPeak == 2)
        for name in names {
            #expect(try Self.images(t, try #require(t.service(name)?.taskDefinition)) == ["repo/\(name):2"])
        }
        try await t.stop()
    }

    /// onFailure: stop: no entry starts after the failure, what was done stays, the failed
    /// service's own deployment rolled itself back, and the release ends FAILED.
    @Test func onFailureStopLeavesWhatWasDone() async throws {
        let t = try await TestServer()
        let names = ["svc-1", "svc-2", "svc-3", "svc-4"]
        let previous = try Self.seed(t, names)
        let file = try Self.write(Self.manifest("onFailure: stop\nmaxParallel: 1",
                                                services: names.map { ($0, $0 == "svc-2" ? "repo/svc-2:2-unhealthy" : "repo/\($0):2") }))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "halt", "-wait"]) }
        #expect(result.code == 1)
        #expect(result.out.last?.hasPrefix("Release halt: FAILED") == true, "\(result.text)")

        let release = try await Self.release(t, "halt")
        #expect(release.status == .failed)
        #expect(release.onFailure == "stop")
        #expect(release.error.contains("svc-2"), "\(release.error)")
        #expect(release.entries.map(\.status) == ["SUCCEEDED", "ROLLED_BACK", "NOT_STARTED", "NOT_STARTED"],
                "\(release.entries.map { "\($0.label)=\($0.status)" })")
        let svc1 = try #require(t.service("svc-1")?.taskDefinition)
        #expect(svc1 != previous["svc-1"])
        #expect(try Self.images(t, svc1) == ["repo/svc-1:2"], "the change made before the failure stays")
        for name in ["svc-2", "svc-3", "svc-4"] { Self.expectOn(t, name, previous[name]) }
        for name in ["svc-3", "svc-4"] { #expect(try Self.entry(release, name).deploymentID.isEmpty) }
        let events = try await Self.events(t, "halt")
        #expect(events.contains { $0.type == "release.stopping" })
        #expect(!events.contains { $0.type == "release.rolling_back" || $0.type.hasPrefix("entry.rolling_back") })
        try await t.stop()
    }

    /// onFailure: continue: the other entries go on and succeed; the release ends FAILED and
    /// names the failure.
    @Test func onFailureContinueDeploysTheOthers() async throws {
        let t = try await TestServer()
        let names = ["svc-1", "svc-2", "svc-3", "svc-4"]
        let previous = try Self.seed(t, names)
        let file = try Self.write(Self.manifest("onFailure: continue\nmaxParallel: 1",
                                                services: names.map { ($0, $0 == "svc-2" ? "repo/svc-2:2-unhealthy" : "repo/\($0):2") }))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "onward", "-wait"]) }
        #expect(result.code == 1)
        #expect(result.out.last?.hasPrefix("Release onward: FAILED") == true, "\(result.text)")

        let release = try await Self.release(t, "onward")
        #expect(release.status == .failed)
        #expect(release.onFailure == "continue")
        #expect(release.error.contains("svc-2"), "the release says what failed: '\(release.error)'")
        #expect(release.entries.map(\.status) == ["SUCCEEDED", "ROLLED_BACK", "SUCCEEDED", "SUCCEEDED"],
                "\(release.entries.map { "\($0.label)=\($0.status)" })")
        for name in ["svc-1", "svc-3", "svc-4"] {
            #expect(try Self.images(t, try #require(t.service(name)?.taskDefinition)) == ["repo/\(name):2"], "\(name)")
        }
        Self.expectOn(t, "svc-2", previous["svc-2"])
        let events = try await Self.events(t, "onward")
        #expect(!events.contains { $0.type == "release.stopping" || $0.type == "release.rolling_back" })
        try await t.stop()
    }

    /// One approval for the whole release; a rejected release changes nothing; list shows
    /// releases; rolling back a succeeded release puts everything back on its previous revision.
    @Test func approvalRejectionListAndRollbackThroughTheClient() async throws {
        let t = try await TestServer()
        let names = ["web", "worker"]
        let previous = try Self.seed(t, names)
        let ruleTD = try Self.seedRule(t, rule: "hourly-sync", family: "sync")
        let v2 = try Self.write(Self.manifest("release: spring\napproval: required", tasks: [("sync", "hourly-sync", "repo/sync:2")],
                                              services: names.map { ($0, "repo/\($0):2") }))

        let submitted = await t.client(["-action", "release", "-file", v2, "-id", "r1"])
        #expect(submitted.code == 0, "\(submitted.text)")
        #expect(submitted.out.first == "Release r1 accepted: 3 of 3 entries to change, status PENDING_APPROVAL", "\(submitted.text)")
        // Waiting for approval changes nothing, however long it waits.
        t.clock.advance(by: .seconds(600))
        await t.clock.waitUntilIdle()
        #expect(try await Self.release(t, "r1").status == .pendingApproval)
        for name in names { Self.expectOn(t, name, previous[name]) }
        #expect(try t.sim.listTargetsByRule(rule: "hourly-sync").first?.taskDefinitionArn == ruleTD)

        let approved = try await t.driving {
            await t.client(["-action", "approve", "-id", "r1", "-approver", "alice", "-reason", "change 42", "-wait"])
        }
        #expect(approved.code == 0, "\(approved.text)")
        #expect(approved.out.first?.hasPrefix("Release r1 approved: status ") == true, "\(approved.text)")
        #expect(approved.out.last?.hasPrefix("Release r1: SUCCEEDED") == true, "\(approved.text)")
        let status = await t.client(["-action", "status", "-id", "r1"])
        #expect(status.out.contains("Approval:    approved by alice (change 42)"), "\(status.text)")
        var released: [String: String] = [:]
        for name in names {
            released[name] = try #require(t.service(name)?.taskDefinition)
            #expect(try Self.images(t, released[name]!) == ["repo/\(name):2"])
        }
        let syncTD = try #require(try t.sim.listTargetsByRule(rule: "hourly-sync").first?.taskDefinitionArn)
        #expect(try Self.images(t, syncTD) == ["repo/sync:2"])

        // A second release is rejected: nothing changes.
        let v3 = try Self.write(Self.manifest("approval: required", tasks: [("sync", "hourly-sync", "repo/sync:3")],
                                              services: names.map { ($0, "repo/\($0):3") }))
        let second = await t.client(["-action", "release", "-file", v3, "-id", "r2"])
        #expect(second.out.first?.hasSuffix("status PENDING_APPROVAL") == true, "\(second.text)")
        let rejected = await t.client(["-action", "reject", "-id", "r2", "-approver", "bob", "-reason", "freeze"])
        #expect(rejected.code == 0, "\(rejected.text)")
        #expect(rejected.out == ["Release r2 rejected: status REJECTED"], "\(rejected.text)")
        t.clock.advance(by: .seconds(600))
        await t.clock.waitUntilIdle()
        let r2 = try await Self.release(t, "r2")
        #expect(r2.status == .rejected)
        #expect(r2.entries.allSatisfy { $0.deploymentID.isEmpty && !["SUCCEEDED", "IN_PROGRESS", "ROLLED_BACK"].contains($0.status) })
        for name in names { Self.expectOn(t, name, released[name]) }
        #expect(try t.sim.listTargetsByRule(rule: "hourly-sync").first?.taskDefinitionArn == syncTD)
        #expect(throws: (any Error).self, "r2 registered nothing") { try t.sim.describeTaskDefinition("web:3") }

        let list = await t.client(["-action", "list"])
        #expect(list.code == 0, "\(list.text)")
        #expect(list.out.first == "Releases:", "\(list.text)")
        #expect(list.out.contains { $0.hasPrefix("  r1 ") && $0.contains("SUCCEEDED") && $0.contains("3/3") }, "\(list.text)")
        #expect(list.out.contains { $0.hasPrefix("  r2 ") && $0.contains("REJECTED") }, "\(list.text)")
        let r1Row = list.out.firstIndex { $0.hasPrefix("  r1 ") } ?? 0
        let r2Row = list.out.firstIndex { $0.hasPrefix("  r2 ") } ?? 0
        #expect(r2Row < r1Row, "newest first")

        // Rolling back the succeeded release.
        let rollback = try await t.driving {
            await t.client(["-action", "rollback", "-id", "r1", "-approver", "carol", "-reason", "regression", "-wait"])
        }
        #expect(rollback.out.first == "Rollback of release r1 started: status ROLLING_BACK", "\(rollback.text)")
        #expect(rollback.out.last?.hasPrefix("Release r1: ROLLED_BACK") == true, "\(rollback.text)")
        let r1 = try await Self.release(t, "r1")
        #expect(r1.status == .rolledBack)
        #expect(r1.error == "rollback requested by carol: regression", "\(r1.error)")
        #expect(r1.entries.map(\.status) == ["ROLLED_BACK", "ROLLED_BACK", "ROLLED_BACK"], "\(r1.entries.map(\.status))")
        for name in names { Self.expectOn(t, name, previous[name]) }
        let targets = try t.sim.listTargetsByRule(rule: "hourly-sync")
        #expect(targets.map(\.taskDefinitionArn) == [ruleTD])
        #expect(targets.first?.json["RoleArn"]?.stringValue == "arn:aws:iam::123456789012:role/ecsEventsRole")

        let again = await t.client(["-action", "rollback", "-id", "r1"])
        #expect(again.code == 1, "\(again.text)")
        #expect(again.text.contains("already rolled back"), "\(again.text)")
        try await t.stop()
    }

    /// /metrics after a succeeded release: releases by status, entries by kind and status,
    /// and the release's duration.
    @Test func releaseMetricsAfterASucceededRelease() async throws {
        let t = try await TestServer()
        let names = ["m-1", "m-2"]
        _ = try Self.seed(t, names)
        _ = try Self.seedRule(t, rule: "daily-export", family: "export")
        let file = try Self.write(Self.manifest(tasks: [("export", "daily-export", "repo/export:2")],
                                                services: names.map { ($0, "repo/\($0):2") }))
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "measured", "-wait"]) }
        #expect(result.code == 0, "\(result.text)")
        let release = try await Self.release(t, "measured")
        #expect(release.status == .succeeded)
        let seconds = release.finishedAt.date.timeIntervalSince(release.createdAt.date)
        #expect(seconds > 0)

        let metrics = try await t.http("/metrics")
        #expect(metrics.status == 200)
        let lines = metrics.body.split(separator: "\n").map(String.init)
        let releaseLines = Comment(rawValue: lines.filter { $0.hasPrefix("ecs_release") }.joined(separator: "\n"))
        #expect(lines.contains(#"ecs_releases_total{status="succeeded"} 1"#), releaseLines)
        #expect(lines.contains(#"ecs_release_entries_total{kind="service",status="succeeded"} 2"#), releaseLines)
        #expect(lines.contains(#"ecs_release_entries_total{kind="scheduled_task",status="succeeded"} 1"#), releaseLines)
        #expect(!lines.contains { $0.hasPrefix("ecs_release_entries_total{") && !$0.contains(#"status="succeeded""#) }, releaseLines)
        #expect(lines.contains("ecs_release_duration_seconds_count 1"), releaseLines)
        let sumLine = try #require(lines.first { $0.hasPrefix("ecs_release_duration_seconds_sum ") }, releaseLines)
        let sum = try #require(Double(String(sumLine.dropFirst("ecs_release_duration_seconds_sum ".count))), "\(sumLine)")
        #expect(abs(sum - seconds) < 0.001, "sum \(sum) for a release of \(seconds)s")
        #expect(lines.contains(#"ecs_release_duration_seconds_bucket{le="+Inf"} 1"#), releaseLines)
        try await t.stop()
    }
}
