import CloudModel
import Foundation
import Simulator
import Testing

/// The target groups' metrics the simulator answers GetMetricData with: traffic split by the
/// listener's weights, served by the healthy targets as their images say.
@Suite struct MetricsTests {
    struct Estate {
        let w: World
        var blue = ""
        var green = ""
        var listener = ""
        var balancer = ""

        /// Mock mode's `web` (EXTERNAL, blue 100%), and a task set of `image` in green.
        init(alarms: [SimulatedMetricAlarm] = []) {
            var settings = SimulatorSettings(autoCreate: true)
            settings.autoCreateController = .external
            settings.metricAlarms = alarms
            w = World(settings: settings)
        }

        static func make(green image: String, alarms: [SimulatedMetricAlarm] = []) async throws -> Estate {
            var e = Estate(alarms: alarms)
            let service = try await e.w.describe()
            e.blue = try #require(service.loadBalancers.first?.targetGroupArn)
            e.green = try #require(try await e.w.elb.describeTargetGroups(arns: []).first { $0.targetGroupName == "web-green" }?.targetGroupArn)
            e.balancer = try #require(try await e.w.elb.describeLoadBalancers(arns: []).first?.loadBalancerArn)
            e.listener = try #require(try await e.w.elb.describeListeners(loadBalancerArn: e.balancer).first?.listenerArn)
            let td = try e.w.register(image: image)
            _ = try await e.w.ecs.createTaskSet(CreateTaskSetInput(
                cluster: "prod", service: "web", taskDefinition: td, scale: Scale(value: 100),
                loadBalancers: [LoadBalancerRef(targetGroupArn: e.green, containerName: "app", containerPort: 80)]))
            e.w.advance(60)
            return e
        }

        func shift(green weight: Int) async throws {
            _ = try await w.elb.modifyListener(listenerArn: listener, defaultActions: [.forward([
                WeightedTargetGroup(targetGroupArn: blue, weight: 100 - weight), WeightedTargetGroup(targetGroupArn: green, weight: weight),
            ])])
        }

        func metric(_ name: String, _ group: String, stat: String = "Sum", id: String = "m") -> MetricDataQuery {
            let dimension = "targetgroup/" + (group.components(separatedBy: ":targetgroup/").last ?? "")
            return MetricDataQuery(id: id, metricStat: .init(metric: MetricName(namespace: "AWS/ApplicationELB", name: name, dimensions: [
                MetricDimension(name: "TargetGroup", value: dimension),
            ]), period: 60, stat: stat))
        }

        /// The last full minute's value of one query.
        func value(_ queries: [MetricDataQuery]) async throws -> Double? {
            let minute = Date(timeIntervalSince1970: (w.clock.now().timeIntervalSince1970 / 60).rounded(.down) * 60)
            let results = try await w.cloud.cloudWatch.getMetricData(queries: queries, start: minute.addingTimeInterval(-60), end: minute)
            return results.first { $0.id == queries.last?.id }?.values.first
        }
    }

    @Test func trafficIsSplitByWeightAndJudgedByTheImage() async throws {
        let e = try await Estate.make(green: "nginx:v2-errors-20pct")
        try await e.shift(green: 25)
        e.w.advance(120)
        let blueRequests = try #require(try await e.value([e.metric("RequestCount", e.blue)]))
        let greenRequests = try #require(try await e.value([e.metric("RequestCount", e.green)]))
        // 100 requests a second, 75% to blue, over a minute, ±10%.
        #expect((4050...4950).contains(blueRequests), "\(blueRequests)")
        #expect((1350...1650).contains(greenRequests), "\(greenRequests)")
        let rate = { (group: String) in
            try await e.value([e.metric("HTTPCode_Target_5XX_Count", group, id: "errors"), e.metric("RequestCount", group, id: "requests"),
                               MetricDataQuery(id: "rate", expression: "errors / requests")])
        }
        let greenRate = try #require(try await rate(e.green))
        let blueRate = try #require(try await rate(e.blue))
        #expect((0.15...0.25).contains(greenRate), "\(greenRate)")
        #expect(blueRate < 0.01, "\(blueRate)")
        #expect(try await rate(e.green) == greenRate, "the same question, the same answer")
        let latency = try #require(try await e.value([e.metric("TargetResponseTime", e.blue, stat: "Average")]))
        #expect((0.045...0.055).contains(latency), "\(latency)")
        #expect(try await e.value([e.metric("HealthyHostCount", e.green, stat: "Average")]) == 3)
    }

    @Test func slowImagesAnswerSlowly() async throws {
        let e = try await Estate.make(green: "nginx:v2-slow-800ms")
        try await e.shift(green: 50)
        e.w.advance(120)
        let latency = try #require(try await e.value([e.metric("TargetResponseTime", e.green, stat: "p99")]))
        #expect((0.72...0.88).contains(latency), "\(latency)")
    }

    /// No weight, no requests, no datapoint; traffic to a group with no healthy target is
    /// answered 503 by the load balancer.
    @Test func noTrafficNoDatapointsAndNoTargetsAnswer503() async throws {
        let e = try await Estate.make(green: "nginx:v2")
        e.w.advance(120)
        #expect(try await e.value([e.metric("RequestCount", e.green)]) == nil)
        let empty = try e.w.sim.createTargetGroup(name: "empty", loadBalancerArn: e.balancer).targetGroupArn
        _ = try await e.w.elb.modifyListener(listenerArn: e.listener, defaultActions: [.forward([WeightedTargetGroup(targetGroupArn: empty, weight: 1)])])
        e.w.advance(120)
        #expect(try await e.value([e.metric("HTTPCode_Target_5XX_Count", empty)]) == nil)
        let refused = try #require(try await e.value([e.metric("HTTPCode_ELB_5XX_Count", empty)]))
        #expect((5400...6600).contains(refused), "\(refused)")
    }

    @Test func unsupportedQueriesAreValidationErrors() async throws {
        let e = try await Estate.make(green: "nginx:v2")
        let error = await cloudError { _ = try await e.value([MetricDataQuery(id: "q", expression: #"SEARCH('{AWS/ApplicationELB}', 'Sum', 60)"#)]) }
        #expect(error?.code == "ValidationError")
        #expect(error?.message.contains("position 1") == true, "\(String(describing: error?.message))")
        let unknownId = await cloudError { _ = try await e.value([MetricDataQuery(id: "q", expression: "nothing * 2")]) }
        #expect(unknownId?.message.contains("nothing") == true)
        let stat = await cloudError { _ = try await e.value([e.metric("RequestCount", e.blue, stat: "Average")]) }
        #expect(stat?.message.contains("Sum or SampleCount") == true)
        #expect(try await e.value([MetricDataQuery(id: "m", metricStat: .init(
            metric: MetricName(namespace: "AWS/ECS", name: "CPUUtilization"), period: 60, stat: "Average"))]) == nil,
        "a metric the simulator does not keep has no datapoints, as in CloudWatch")
    }

    /// Alarms on the simulator's metrics: a load balancer's 5XX count crosses the threshold
    /// once a canary with errors serves a full period; without traffic there is no data.
    @Test func metricAlarmsFollowTheTraffic() async throws {
        let alarm = SimulatedMetricAlarm(name: "web-5xx", metric: "HTTPCode_Target_5XX_Count", scope: .loadBalancer("web-alb"),
                                         comparison: .greater, threshold: 50)
        let quiet = SimulatedMetricAlarm(name: "green-requests", metric: "RequestCount", scope: .targetGroup("web-green"),
                                         comparison: .greater, threshold: 0)
        let e = try await Estate.make(green: "nginx:v2-errors-20pct", alarms: [alarm, quiet])
        e.w.advance(120)
        var states = try await e.w.cloud.cloudWatch.describeAlarms(names: ["web-5xx", "green-requests"])
        #expect(states.map(\.state) == [.ok, .insufficientData], "blue's 0.2% of 6000 requests a minute: \(states)")
        try await e.shift(green: 10)
        e.w.advance(120)
        states = try await e.w.cloud.cloudWatch.describeAlarms(names: ["web-5xx", "green-requests"])
        #expect(states.map(\.state) == [.alarm, .alarm], "\(states)")
        #expect(states[0].reason.hasPrefix("Threshold Crossed: 1 datapoint(s) [") && states[0].reason.hasSuffix("] was greater than the threshold (50.0)."),
                "\(states[0].reason)")
    }
}
