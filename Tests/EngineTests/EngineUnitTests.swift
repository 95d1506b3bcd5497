import CloudModel
@testable import Engine
import Foundation
import Testing

@Suite struct GoDurationTests {
    @Test(arguments: [("30s", 30.0), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("2m30s", 150), ("45", 45)])
    func parses(text: String, seconds: Double) {
        #expect(GoDuration.parse(text)?.seconds == seconds)
    }

    @Test(arguments: ["", "soon", "5x", "m5", "-3s", "inf", "nan", "1e30", "99999999999999999999h", "3651d", "1e3", "١٢s"])
    func refuses(text: String) {
        #expect(GoDuration.parse(text) == nil)
    }
}

@Suite struct ServiceStabilityTests {
    let now = Date(timeIntervalSince1970: 0)
    let newTD = "arn:aws:ecs:us-east-1:1:task-definition/web:2"
    let oldTD = "arn:aws:ecs:us-east-1:1:task-definition/web:1"

    func service(_ deployments: [ServiceDeployment], running: Int = 3) -> ECSService {
        ECSService(serviceArn: "s", serviceName: "web", clusterArn: "c", desiredCount: 3, runningCount: running,
                   taskDefinition: deployments.first?.taskDefinition, deployments: deployments, createdAt: now)
    }

    func deployment(_ status: String, _ td: String, running: Int, rollout: String?) -> ServiceDeployment {
        ServiceDeployment(id: status + td, status: status, taskDefinition: td, desiredCount: 3, runningCount: running,
                          rolloutState: rollout, createdAt: now, updatedAt: now)
    }

    @Test func stableOnlyWithOneCompletedPrimaryOnTheTarget() {
        let done = service([deployment("PRIMARY", newTD, running: 3, rollout: "COMPLETED")])
        #expect(ServiceStability.evaluate(done, target: newTD) == .stable)
        let rolling = service([deployment("PRIMARY", newTD, running: 2, rollout: "IN_PROGRESS"),
                               deployment("ACTIVE", oldTD, running: 1, rollout: "COMPLETED")])
        #expect(ServiceStability.evaluate(rolling, target: newTD) == .progressing(running: 2, desired: 3))
    }

    @Test func settledOnTheOldRevisionIsAFailure() {
        let back = service([deployment("PRIMARY", oldTD, running: 3, rollout: "COMPLETED")])
        guard case .failed(let reason) = ServiceStability.evaluate(back, target: newTD) else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.contains("primary deployment is on web:1"))
    }

    @Test func failedRolloutIsAFailure() {
        var d = deployment("PRIMARY", newTD, running: 0, rollout: "FAILED")
        d.rolloutStateReason = "circuit breaker"
        #expect(ServiceStability.evaluate(service([d], running: 0), target: newTD) == .failed("ECS rollout failed: circuit breaker"))
    }
}

@Suite struct TaskDefinitionInputTests {
    @Test func keepsUnknownFieldsAndTakesCurrentContainersWhenNoneGiven() throws {
        let current = TaskDefinition(json: try JSONValue.parse(
            #"{"family":"web","revision":4,"taskDefinitionArn":"arn","status":"ACTIVE","cpu":"256","futureField":{"a":1},"containerDefinitions":[{"name":"app","image":"nginx:1"}]}"#))
        let request = try TaskDefinitionInput.validate(#"{"family":"app","containerDefinitions":[]}"#)
        let merged = TaskDefinitionInput.definitionToRegister(request: request, current: current)
        #expect(merged.family == "app")
        #expect(merged.images.map(\.image) == ["nginx:1"])
        #expect(merged.json["futureField"] == .object(["a": .number(1)]))
        #expect(merged.json["cpu"] == .string("256"))
        #expect(merged.json["revision"] == nil)
        #expect(merged.json["taskDefinitionArn"] == nil)
        #expect(merged.json["status"] == nil)
    }

    @Test func givenContainersAreUsedAsGiven() throws {
        let request = try TaskDefinitionInput.validate(#"{"family":"app","containerDefinitions":[{"name":"a","image":"b"}],"x":true}"#)
        let def = TaskDefinitionInput.definitionToRegister(request: request, current: nil)
        #expect(def.json == request)
    }
}

@Suite struct RollbackCheckTests {
    let now = Date(timeIntervalSince1970: 0)
    let oldTD = "arn:aws:ecs:us-east-1:1:task-definition/web:1"
    let newTD = "arn:aws:ecs:us-east-1:1:task-definition/web:2"
    let blue = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-blue/1"
    let green = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web-green/2"
    let listener = "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/web-alb/1/3"

    var facts: DeploymentFacts {
        var f = DeploymentFacts()
        f.previousTaskDefinition = oldTD
        f.newTaskDefinition = newTD
        f.previousTaskSet = "ecs-svc/1"
        f.previousTargetGroup = blue
        f.newTargetGroup = green
        f.trafficTargets = [listener]
        return f
    }

    func taskSet(_ id: String, _ status: String, _ td: String) -> TaskSet {
        TaskSet(id: id, taskSetArn: "arn:\(id)", serviceArn: "s", clusterArn: "c", status: status, taskDefinition: td,
                computedDesiredCount: 3, runningCount: 3, scale: Scale(value: 100), stabilityStatus: "STEADY_STATE",
                createdAt: now, updatedAt: now)
    }

    func external(_ sets: [TaskSet]) -> ECSService {
        ECSService(serviceArn: "s", serviceName: "web", clusterArn: "c", desiredCount: 3, taskDefinition: sets.first?.taskDefinition,
                   deploymentController: .external, taskSets: sets, createdAt: now)
    }

    func route(blue b: Int, green g: Int) -> TrafficRoute {
        TrafficRoute(arn: listener, isRule: false, actions: [.forward([WeightedTargetGroup(targetGroupArn: blue, weight: b),
                                                                         WeightedTargetGroup(targetGroupArn: green, weight: g)])])
    }

    @Test func externalServiceBackOnThePreviousTaskSetPasses() {
        let service = external([taskSet("ecs-svc/1", "PRIMARY", oldTD)])
        #expect(RollbackCheck.problems(facts: facts, service: service, routes: [route(blue: 100, green: 0)]).isEmpty)
    }

    @Test func aNewTaskSetLeftIsAProblem() {
        let service = external([taskSet("ecs-svc/1", "PRIMARY", oldTD), taskSet("ecs-svc/2", "ACTIVE", newTD)])
        let problems = RollbackCheck.problems(facts: facts, service: service, routes: [route(blue: 100, green: 0)])
        #expect(problems.contains { $0.hasPrefix("2 task sets left (PRIMARY ecs-svc/1 web:1, ACTIVE ecs-svc/2 web:2)") }, "\(problems)")
        #expect(problems.contains("task set ecs-svc/2 on the new revision web:2 is still there"), "\(problems)")
    }

    @Test func thePrimaryMustBeThePreviousRevision() {
        let onNew = RollbackCheck.problems(facts: facts, service: external([taskSet("ecs-svc/2", "PRIMARY", newTD)]),
                                           routes: [route(blue: 100, green: 0)])
        #expect(onNew.contains("the PRIMARY task set ecs-svc/2 is on web:2, not web:1"), "\(onNew)")
        let notPrimary = RollbackCheck.problems(facts: facts, service: external([taskSet("ecs-svc/1", "ACTIVE", oldTD)]),
                                                routes: [route(blue: 100, green: 0)])
        #expect(notPrimary == ["no task set is PRIMARY"])
        let none = RollbackCheck.problems(facts: facts, service: external([]), routes: [route(blue: 100, green: 0)])
        #expect(none == ["no task set left"])
    }

    @Test func trafficNotAllOnThePreviousTargetGroupIsAProblem() {
        let service = external([taskSet("ecs-svc/1", "PRIMARY", oldTD)])
        let problems = RollbackCheck.problems(facts: facts, service: service, routes: [route(blue: 90, green: 10)])
        #expect(problems == ["listener/app/web-alb/1/3 sends 90% of its traffic to targetgroup/web-blue/1, not 100% "
                + "(targetgroup/web-blue/1=90, targetgroup/web-green/2=10)"])
    }

    func ecsService(primary td: String, running: Int) -> ECSService {
        ECSService(serviceArn: "s", serviceName: "web", clusterArn: "c", desiredCount: 3, runningCount: running, taskDefinition: td,
                   deployments: [ServiceDeployment(id: "d", status: "PRIMARY", taskDefinition: td, desiredCount: 3,
                                                   runningCount: running, rolloutState: "COMPLETED", createdAt: now, updatedAt: now)],
                   createdAt: now)
    }

    @Test func ecsServiceMustRunThePreviousRevisionInFull() {
        var f = facts
        f.serviceUpdated = true
        #expect(RollbackCheck.problems(facts: f, service: ecsService(primary: oldTD, running: 3), routes: []).isEmpty)
        #expect(RollbackCheck.problems(facts: f, service: ecsService(primary: newTD, running: 3), routes: [])
            == ["the PRIMARY deployment is on web:2, not web:1"])
        #expect(RollbackCheck.problems(facts: f, service: ecsService(primary: oldTD, running: 2), routes: [])
            == ["the PRIMARY deployment runs 2/3 tasks"])
    }
}

@Suite struct ClientTokenTests {
    /// ECS refuses a clientToken over 36 characters; ids may have 128.
    @Test func shortStableAndPerSide() {
        let id = String(repeating: "r", count: 128)
        let new = DeploymentRunner.clientToken("\(id)-new")
        #expect(new.count <= 36)
        #expect(new == DeploymentRunner.clientToken("\(id)-new"))
        #expect(new != DeploymentRunner.clientToken("\(id)-previous"))
        #expect(DeploymentRunner.clientToken("a-new") != DeploymentRunner.clientToken("b-new"))
    }
}

@Suite struct TaskSetHealthTests {
    /// Without the one member the decision needs, the answer says which and where.
    @Test func aMissingComputedDesiredCountIsNamed() {
        let set = TaskSet(id: "ts1", taskSetArn: "arn:ts/ts1", serviceArn: "arn:svc", clusterArn: "arn:cluster", status: "ACTIVE",
                          taskDefinition: "arn:td/web:2", computedDesiredCount: nil, runningCount: 2, scale: Scale(value: 100),
                          stabilityStatus: "STEADY_STATE", createdAt: nil, updatedAt: nil)
        #expect(TaskSetHealth.evaluate(set, targets: []) == .unhealthy(
            "ecs:DescribeTaskSets answered no taskSet.computedDesiredCount for task set ts1: cannot tell whether it runs all its tasks"))
    }
}

/// The event kinds' names are what clients, stored records and audit logs read: a rename
/// must fail here before it reaches them.
@Suite struct EventKindTests {
    @Test func deploymentEventNamesStayAsTheyAre() {
        #expect(DeploymentEventKind.allCases.map(\.rawValue) == [
            "deployment.accepted", "deployment.started", "deployment.resumed", "deployment.recovered", "deployment.succeeded",
            "deployment.failed", "deployment.rolled_back", "deployment.rejected", "deployment.interrupted", "deployment.checkpointed",
            "deployment.queued", "window.overridden",
            "stage.started", "stage.progress", "stage.succeeded", "stage.failed", "stage.cancelled", "stage.checkpointed",
            "facts.recorded", "hook.succeeded", "hook.failed",
            "approval.requested", "approval.recorded", "approval.approved", "approval.rejected", "approval.expired",
            "rollback.requested", "rollback.started", "preflight.warning", "analysis.measured", "analysis.failed", "analysis.paused",
            "analysis.resumed",
        ])
    }

    @Test func releaseEventNamesStayAsTheyAre() {
        #expect(ReleaseEventKind.allCases.map(\.rawValue) == [
            "release.accepted", "release.queued", "release.started", "release.succeeded", "release.failed", "release.rejected",
            "release.rolling_back", "release.rolled_back", "release.stopping", "release.checkpointed", "release.interrupted",
            "release.recovered", "approval.requested", "approval.recorded", "approval.approved", "approval.rejected",
            "rollback.requested", "preflight.warning", "entry.started", "entry.resumed", "entry.registered", "entry.skipped",
            "entry.succeeded", "entry.failed", "entry.not_started", "entry.rolling_back", "entry.rolled_back",
            "entry.rollback_failed",
        ])
    }

    /// Stored events keep their `type` key: a record saved before the kinds were typed reads back.
    @Test func storedEventsKeepTheirTypeKey() throws {
        let json = #"{"deploymentID":"d1","sequence":1,"at":0,"type":"stage.started","stage":"s","status":"IN_PROGRESS","progress":0,"message":""}"#
        let event = try JSONDecoder().decode(DeploymentEvent.self, from: Data(json.utf8))
        #expect(event.kind == .stageStarted && event.type == "stage.started")
        let encoded = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        #expect(encoded.contains(#""type":"stage.started""#))
    }
}

/// Rolling on the ECS controller: the percentages always let one batch (at least one task) move,
/// with ECS's rounding (maximum down, minimum up).
@Suite struct RollingConfigurationTests {
    @Test(arguments: [(1, 25), (2, 25), (3, 25), (4, 25), (10, 25), (7, 50), (5, 100), (200, 10)])
    func oneBatchMovesAtATime(desired: Int, batch: Int) {
        let c = DeploymentRunner.rollingConfiguration(batchPercent: batch, desired: desired)
        let maxTasks = desired * c.maximumPercent! / 100
        let minHealthy = (desired * c.minimumHealthyPercent! + 99) / 100
        let expected = min(desired, max(1, desired * batch / 100))
        #expect(maxTasks == desired + expected, "\(c)")
        #expect(minHealthy == desired - expected, "\(c)")
    }

    @Test func withoutADesiredCountThePercentIsTheBatch() {
        #expect(DeploymentRunner.rollingConfiguration(batchPercent: 25, desired: nil)
            == DeploymentConfiguration(maximumPercent: 125, minimumHealthyPercent: 75))
    }
}
