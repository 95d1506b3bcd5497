import CloudModel
import Engine
import Foundation
import Testing

@Suite struct GoDurationTests {
    @Test(arguments: [("30s", 30.0), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("2m30s", 150), ("45", 45)])
    func parses(text: String, seconds: Double) {
        #expect(GoDuration.parse(text)?.seconds == seconds)
    }

    @Test(arguments: ["", "soon", "5x", "m5", "-3s"])
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
