import CloudModel
import DeployAPI
import Engine
import Foundation
@testable import Server
import Simulator
import Testing

/// CloudWatch metric templates judged on the simulator's own metrics (GetMetricData of the
/// target groups, driven by the image tags), through the real server and client in mock mode.
@Suite struct SimulatedMetricsTests {
    static let config = """
        analysis:
          templates:
            error-rate:
              provider: cloudwatch
              interval: 30s
              query:
                - id: errors
                  metric: HTTPCode_Target_5XX_Count
                  dimensions: {TargetGroup: "{{target_group}}", LoadBalancer: "{{load_balancer}}"}
                  stat: Sum
                - id: requests
                  metric: RequestCount
                  dimensions: {TargetGroup: "{{target_group}}", LoadBalancer: "{{load_balancer}}"}
                  stat: Sum
                - {id: rate, expression: errors / requests}
              success: "< 0.05"
            latency:
              provider: cloudwatch
              interval: 30s
              period: 60
              query:
                - {id: p99, metric: TargetResponseTime, dimensions: {TargetGroup: "{{target_group}}"}, stat: p99}
              compare: baseline
              max_ratio: 2
            no-data:
              provider: cloudwatch
              interval: 1h
              query:
                - {id: cpu, namespace: AWS/ECS, metric: CPUUtilization, dimensions: {ServiceName: "{{service}}"}, stat: Average}
              success: "< 80"
              inconclusive: pause
            latency-mw:
              provider: cloudwatch
              period: 10
              initial_delay: 1m
              query:
                - {id: average, metric: TargetResponseTime, dimensions: {TargetGroup: "{{target_group}}"}, stat: Average}
              compare: baseline
              confidence: 0.95

        """

    static func server() async throws -> TestServer {
        try await TestServer(configure: { try! $0.apply(yaml: Self.config, source: "config.yaml") }, simulator: SeedCommandsTests.mockMode)
    }

    func canary(_ t: TestServer, _ id: String, image: String, analysis: String) async throws -> Deployment_V1_Deployment {
        let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:"# + image + #""}]}"#
        let accepted = await t.client(["-id", id, "-cluster", "prod", "-service", "web", "-taskdef", taskdef, "-strategy", "canary",
                                       "-config", #"{"analysis":""# + analysis + #"","canary_stages":"50,100","stage_timeout":"2m"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        return try await t.waitUntilFinished(id)
    }

    @Test func aCanaryWithTwentyPercentErrorsIsRolledBackAtItsFirstStep() async throws {
        let t = try await Self.server()
        let d = try await canary(t, "m1", image: "v2-errors-20pct", analysis: "error-rate")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("analysis error-rate failed: 0.") && d.error.contains("is not < 0.05"), "\(d.error)")
        #expect(d.error.contains("rate = errors / requests"), "the failure shows the query: \(d.error)")
        #expect(d.stages.filter { $0.status == .stageFailed }.map(\.name) == ["bake(2m, canary at 50%)"])
        let left = t.service("web")?.taskSets.map { $0.loadBalancers.first?.targetGroupArn ?? "" } ?? []
        #expect(left.count == 1 && left[0].contains(":targetgroup/web-blue/"), "the canary's task set is gone, blue serves: \(left)")
        let metrics = try await t.http("/metrics").body
        #expect(metrics.contains(#"ecs_aws_api_calls_total{service="monitoring",operation="GetMetricData"}"#))
        try await t.stop()
    }

    @Test func aSlowCanaryIsRolledBackByComparingWithTheBaseline() async throws {
        let t = try await Self.server()
        let d = try await canary(t, "m2", image: "v2-slow-800ms", analysis: "error-rate,latency")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("analysis latency failed: 0.") && d.error.contains("is more than 2 × the baseline's 0.0"), "\(d.error)")
        #expect(d.stages.filter { $0.status == .stageFailed }.map(\.name) == ["bake(2m, canary at 50%)"])
        try await t.stop()
    }

    /// The Mann-Whitney U test on the window's 10-second samples (a minute in: 6 of the canary,
    /// 30 of the baseline).
    @Test func aSlowCanaryIsRolledBackByTheMannWhitneyTest() async throws {
        let t = try await Self.server()
        let d = try await canary(t, "m4", image: "v2-slow-800ms", analysis: "latency-mw")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("analysis latency-mw failed: the canary's ") && d.error.contains("at 95% confidence (Mann-Whitney U, p = 0"),
                "\(d.error)")
        #expect(d.stages.filter { $0.status == .stageFailed }.map(\.name) == ["bake(2m, canary at 50%)"])
        try await t.stop()
    }

    /// Every template passes at every step; at 100% the baseline serves no more traffic, and its
    /// newest datapoint in the window (from the step before) is the one compared.
    @Test func aHealthyCanaryIsPromoted() async throws {
        let t = try await Self.server()
        let d = try await canary(t, "m3", image: "v2", analysis: "error-rate,latency,latency-mw")
        #expect(d.status == .succeeded, "\(d.status) \(d.error)")
        let bakes = d.stages.filter { $0.name.hasPrefix("bake(") }
        #expect(bakes.count == 2)
        #expect(bakes.allSatisfy { $0.message.contains("analysis: error-rate 5/5 ok, latency 5/5 ok, latency-mw 2/2 ok") },
                "\(bakes.map(\.message))")
        // Each measurement is recorded on its stage: the value, the verdict, the query.
        let measured = try await t.server.engine.status(id: "m3").events.filter { $0.kind == .analysisMeasured }
        #expect(measured.count == 24)
        let first = try #require(measured.first)
        #expect(first.stage == "bake(2m, canary at 50%)")
        #expect(first.message.hasPrefix("error-rate 0.00") && first.message.contains(" ok (< 0.05): errors = AWS/ApplicationELB HTTPCode_Target_5XX_Count"),
                "\(first.message)")
        #expect(measured.contains { $0.message.hasPrefix("latency-mw median 0.0") && $0.message.contains("ok (not higher than the baseline at 95% (Mann-Whitney))") },
                "\(measured.map(\.message))")
        try await t.stop()
    }

    /// `mock.alarms`: an alarm on the load balancer's 5XX count, watched by the deployment
    /// (`alarms`), goes to ALARM once the canary's errors fill a period, and rolls it back.
    @Test func aMockAlarmOnTheSimulatorsMetricsRollsACanaryBack() async throws {
        let yaml = Self.config + "mock:\n  alarms:\n    web-5xx: {metric: HTTPCode_Target_5XX_Count, load_balancer: web-alb, threshold: \"> 50\"}\n"
        var config = ServerConfig()
        try config.apply(yaml: yaml, source: "config.yaml")
        var simulator = SeedCommandsTests.mockMode
        simulator.metricAlarms = config.mockAlarms
        let t = try await TestServer(configure: { try! $0.apply(yaml: yaml, source: "config.yaml") }, simulator: simulator)
        let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:v2-errors-20pct"}]}"#
        let accepted = await t.client(["-id", "m5", "-cluster", "prod", "-service", "web", "-taskdef", taskdef, "-strategy", "canary",
                                       "-config", #"{"alarms":"web-5xx","canary_stages":"10,100","stage_timeout":"3m"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        let d = try await t.waitUntilFinished("m5")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("bake(3m, canary at 10%): alarm web-5xx is in ALARM: Threshold Crossed: 1 datapoint(s) ["), "\(d.error)")
        try await t.stop()
    }

    /// Drives the clock until the deployment's running stage (the one named `stage`, when
    /// given) says it is paused; answers that message (time then stands still until the test
    /// acts). An approval is answered before the paused stage goes on: the stage it paused
    /// may still say so for a moment.
    func pausedMessage(_ t: TestServer, _ id: String, stage: String? = nil) async throws -> String {
        try await t.driving {
            while true {
                let d = try await t.status(id)
                if let message = d.stages.first(where: {
                    $0.status == .stageRunning && $0.message.hasPrefix("paused: ") && (stage.map($0.name.hasPrefix) ?? true)
                })?.message {
                    return message
                }
                if d.status != .inProgress && d.status != .pending { throw TestFailure("\(id) ended \(d.status): \(d.error)") }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// `inconclusive: pause`: a measurement without data pauses the bake until someone
    /// approves; the requester cannot; each step's pause is approved, and the canary is promoted.
    @Test func anInconclusiveAnalysisPausesUntilSomeoneApproves() async throws {
        let t = try await Self.server()
        let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:v2"}]}"#
        let accepted = await t.client(["-id", "m6", "-cluster", "prod", "-service", "web", "-taskdef", taskdef, "-strategy", "canary",
                                       "-config", #"{"analysis":"no-data","canary_stages":"50,100","stage_timeout":"2m","timeout":"1h"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        for step in [50, 100] {
            let message = try await pausedMessage(t, "m6", stage: "bake(2m, canary at \(step)%)")
            #expect(message.contains("analysis no-data: the query returned no data (inconclusive)"), "\(message)")
            let d = try await t.status("m6")
            #expect(d.status == .inProgress && d.currentStage.hasPrefix("bake(2m, canary at \(step)%)"), "\(d.currentStage)")
            let events = try await t.server.engine.status(id: "m6").events
            #expect(events.contains { $0.kind == .analysisPaused && $0.message.contains("grpc-client -action approve -id m6") })
            let approved = await t.client(["-id", "m6", "-action", "approve", "-approver", "alice", "-reason", "CPU metrics are late"])
            #expect(approved.code == 0, "\(approved.text)")
        }
        let d = try await t.waitUntilFinished("m6")
        #expect(d.status == .succeeded, "\(d.status) \(d.error)")
        let resumed = try await t.server.engine.status(id: "m6").events.filter { $0.kind == .analysisResumed }.map(\.message)
        #expect(resumed == Array(repeating: "approved by alice: CPU metrics are late; the analysis goes on", count: 2), "\(resumed)")
        try await t.stop()
    }

    /// Paused, then rolled back by a person: traffic goes back, the pause ends with why.
    @Test func aPausedBakeCanBeRolledBack() async throws {
        let t = try await Self.server()
        let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:v2"}]}"#
        let accepted = await t.client(["-id", "m7", "-cluster", "prod", "-service", "web", "-taskdef", taskdef, "-strategy", "canary",
                                       "-config", #"{"analysis":"no-data","canary_stages":"50,100","stage_timeout":"2m","timeout":"1h"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        _ = try await pausedMessage(t, "m7")
        let rejected = await t.client(["-id", "m7", "-action", "reject", "-approver", "bob", "-reason", "no CPU data, no release"])
        #expect(rejected.code == 0, "\(rejected.text)")
        let d = try await t.waitUntilFinished("m7")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("rollback requested by bob: rejected while paused on its analysis: no CPU data, no release"), "\(d.error)")
        #expect(try await t.server.engine.status(id: "m7").events.contains { $0.kind == .analysisResumed && $0.message == "the pause ended: the bake was stopped" })
        let left = t.service("web")?.taskSets.map { $0.loadBalancers.first?.targetGroupArn ?? "" } ?? []
        #expect(left.count == 1 && left[0].contains(":targetgroup/web-blue/"), "\(left)")
        try await t.stop()
    }

    @Test func configNamesTheField() throws {
        let head = "analysis:\n  templates:\n    e:\n"
        let cases: [(String, String)] = [
            (head + "      {provider: cloudwatch, success: \"< 1\"}\n", "analysis.templates.e.query: is required"),
            (head + "      {provider: cloudwatch, query: [{id: Bad, expression: x}], success: \"< 1\"}\n", "analysis.templates.e.query[0].id: is required: a lowercase letter"),
            (head + "      {provider: cloudwatch, query: [{id: a, metric: RequestCount}], success: \"< 1\"}\n", "analysis.templates.e.query[0].stat: is required"),
            (head + "      {provider: cloudwatch, query: [{id: a, expression: x, stat: Sum}], success: \"< 1\"}\n", "analysis.templates.e.query[0].stat: is for a metric entry"),
            (head + "      {provider: cloudwatch, query: [{id: a, expression: x}, {id: b, expression: a, return_data: false}], success: \"< 1\"}\n",
             "analysis.templates.e.query: exactly one entry returns data (return_data), the value judged; 0 do"),
            (head + "      {provider: cloudwatch, query: x, period: 45, success: \"< 1\"}\n", "analysis.templates.e.period: '45' must be 1, 5, 10, 30 seconds or a multiple of 60"),
            (head + "      {provider: cloudwatch, query: x, window: 10s, success: \"< 1\"}\n", "analysis.templates.e.window: must be between 1m and 24h"),
            (head + "      {provider: cloudwatch, query: \"x{{pod}}\", success: \"< 1\"}\n", "analysis.templates.e.query: {{pod}} is not a placeholder"),
            (head + "      {provider: datadog, query: x, success: \"< 1\"}\n", "analysis.templates.e.provider: is required: prometheus or cloudwatch"),
            (head + "      {provider: cloudwatch, query: \"{{target_group}}\", compare: baseline, max_ratio: 2, confidence: 0.9}\n",
             "analysis.templates.e.max_ratio: compare: baseline takes max_ratio (e.g. 1.5: at most 1.5 times the baseline's value) or confidence"),
            (head + "      {provider: cloudwatch, query: \"{{target_group}}\", compare: baseline, confidence: 1}\n",
             "analysis.templates.e.confidence: '1.0' must be below 1"),
            (head + "      {provider: cloudwatch, query: x, confidence: 0.9, success: \"< 1\"}\n", "analysis.templates.e.confidence: needs compare: baseline"),
            (head + "      {provider: cloudwatch, query: x, step: 10s, success: \"< 1\"}\n", "analysis.templates.e.step: is for provider: prometheus"),
            ("mock:\n  alarms:\n    a: {metric: CPUUtilization, load_balancer: web-alb, threshold: \"> 1\"}\n", "mock.alarms.a.metric: is required: one of RequestCount"),
            ("mock:\n  alarms:\n    a: {metric: RequestCount, threshold: \"> 1\"}\n", "mock.alarms.a.target_group: or load_balancer is required"),
            ("mock:\n  alarms:\n    a: {metric: RequestCount, target_group: g, threshold: \"lots\"}\n", "mock.alarms.a.threshold: 'lots' is not a comparison"),
        ]
        NotificationTests.expectRefused(cases)
        var config = ServerConfig()
        try config.apply(yaml: Self.config, source: "config.yaml")
        let template = try #require(config.analysis.templates["error-rate"])
        #expect(template.provider == .cloudwatch && template.window == .seconds(300))
        #expect(template.metricQueries.map(\.id) == ["errors", "requests", "rate"])
        #expect(template.metricQueries.map(\.returnData) == [false, false, true], "the last entry is the value judged")
        #expect(template.metricQueries[0].metricStat?.period == 60)
        #expect(template.query.hasSuffix("rate = errors / requests"), "\(template.query)")
        try config.apply(yaml: head + "      {provider: cloudwatch, query: \"SELECT AVG(CPUUtilization) FROM \\\"AWS/ECS\\\"\", period: 5m, success: \"< 80\"}\n",
                         source: "config.yaml")
        #expect(config.analysis.templates["e"]?.metricQueries == [MetricDataQuery(id: "q", expression: #"SELECT AVG(CPUUtilization) FROM "AWS/ECS""#, period: 300)])
    }

    /// ECS's own canary (`mock.controller: native`): the templates are judged while ECS moves
    /// production traffic and bakes, on the target group of the new revision; a failure asks
    /// ECS to roll back.
    @Test(arguments: [("v2-errors-20pct", false), ("v2", true)])
    func anAnalysisWatchesECSsOwnCanary(image: String, passes: Bool) async throws {
        var mock = SeedCommandsTests.mockMode
        mock.autoCreateController = .ecs
        mock.autoCreateNative = true
        let t = try await TestServer(configure: { try! $0.apply(yaml: Self.config, source: "config.yaml") }, simulator: mock)
        let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:"# + image + #""}]}"#
        let accepted = await t.client(["-id", "n", "-cluster", "prod", "-service", "web", "-taskdef", taskdef, "-strategy", "canary",
                                       "-config", #"{"analysis":"error-rate,latency","canary_percent":"20","canary_bake":"3m","bake_time":"2m"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        let d = try await t.waitUntilFinished("n")
        let measured = try await t.server.engine.status(id: "n").events.filter { $0.kind == .analysisMeasured }
        if passes {
            #expect(d.status == .succeeded, "\(d.status) \(d.error)")
            // Every 30 s through the canary's 3 minutes and the 2 minutes of bake time.
            #expect(measured.count >= 16, "\(measured.count)")
            #expect(measured.contains { $0.message.hasPrefix("latency ") && $0.message.contains("ok") }, "\(measured.map(\.message))")
        } else {
            #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
            #expect(d.error.contains("analysis error-rate failed: 0.") && d.error.contains("is not < 0.05"), "\(d.error)")
            #expect(d.rollbackStages.first?.message.contains("ECS rolled back") == true, "\(d.rollbackStages.map(\.message))")
            #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)
        }
        if passes {
            // The query named the new revision's target group and the load balancer.
            let first = try #require(measured.first?.message)
            #expect(first.contains("web-green") && first.contains("app/web-alb/"), "\(first)")
        }
        try await t.stop()
    }
}
