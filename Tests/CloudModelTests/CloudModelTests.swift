import CloudModel
import Foundation
import Testing
import TestSupport

@Suite struct CloudModelTests {
    @Test func tokenBucketRefillsOnTheInjectedTime() {
        var bucket = TokenBucket(capacity: 2, refillPerSecond: 1)
        let t0 = Date(timeIntervalSince1970: 0)
        let taken = [bucket.tryTake(at: t0), bucket.tryTake(at: t0), bucket.tryTake(at: t0), bucket.tryTake(at: t0.addingTimeInterval(1))]
        #expect(taken == [true, true, false, true])
        // A reservation in debt says how long to wait.
        let wait = bucket.reserve(at: t0.addingTimeInterval(1))
        #expect(wait == .seconds(1))
    }

    @Test func taskDefinitionKeepsUnknownFieldsAndDropsReadOnlyOnes() throws {
        let json = try JSONValue.parse(#"{"family":"web","revision":3,"status":"ACTIVE","deleteRequestedAt":1,"newField":[1,{"x":true}],"containerDefinitions":[{"name":"app","image":"a:1"},{"name":"side","image":"b:1"}]}"#)
        let input = TaskDefinition(json: json).registrationInput().withImage("a:2", container: "app")
        #expect(input.json["revision"] == nil && input.json["status"] == nil && input.json["deleteRequestedAt"] == nil)
        #expect(input.json["newField"] == json["newField"])
        #expect(input.images.map(\.image) == ["a:2", "b:1"])
        #expect(try JSONValue.parse(input.json.serialized()) == input.json)
    }

    @Test func manualClockWakesSleepersInDeadlineOrder() async throws {
        let clock = ManualClock()
        let start = clock.now()
        let sleeper = Task { try await clock.sleep(for: .seconds(30)); return clock.now() }
        while clock.sleeperCount == 0 { await Task.yield() }
        #expect(clock.advanceToNextDeadline())
        #expect(try await sleeper.value.timeIntervalSince(start) == 30)
        #expect(!clock.advanceToNextDeadline())
    }

    @Test func arnNames() {
        #expect("arn:aws:ecs:us-east-1:1:service/prod/web".arnResourceName == "web")
        #expect("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/12ab".arnResource == "targetgroup/blue/12ab")
        #expect("web".arnResourceName == "web")
    }
}
