import CloudModel
import DeployAPI
import Engine
import Foundation
import Notify
@testable import Server
import Simulator
import Testing

/// Metric templates judged during bakes, through the real server and client, against a
/// Prometheus HTTP API served by a loopback stub.
@Suite struct AnalysisTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#
    static let errorRate = #"sum(rate(http_requests_total{service="{{service}}",target_group="{{target_group}}",code=~"5.."}[1m])) / sum(rate(http_requests_total{service="{{service}}"}[1m]))"#

    static func vector(_ value: String) -> String {
        #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.5,""# + value + #""]}]}}"#
    }

    static func configure(_ c: inout ServerConfig, url: String, consecutiveErrors: Int = 4) {
        var template = AnalysisTemplate(name: "error-rate", provider: .prometheus, query: errorRate, success: AnalysisTemplate.Condition("< 0.01")!)
        template.interval = .seconds(30)
        template.consecutiveErrors = consecutiveErrors
        var prometheus = PrometheusSettings(url: url)
        prometheus.bearerToken = "planted-prometheus-token"
        c.analysis.prometheus = prometheus
        c.analysis.templates = ["error-rate": template]
    }

    func canary(_ t: TestServer, _ id: String) async throws -> Deployment_V1_Deployment {
        let accepted = await t.client(["-id", id, "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy", "canary",
                                       "-config", #"{"analysis":"error-rate","canary_stages":"50,100","stage_timeout":"2m"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        return try await t.waitUntilFinished(id)
    }

    @Test func aCanaryWithTooManyErrorsIsRolledBackAtItsFirstStep() async throws {
        let prometheus = try HookStub.start()
        defer { prometheus.stop() }
        prometheus.answer("/prom/api/v1/query", with: Self.vector("0.2"))
        let receiver = try HookStub.start()
        defer { receiver.stop() }
        let t = try await TestServer(configure: {
            Self.configure(&$0, url: prometheus.url("/prom"))
            $0.notifications.routes = [NotificationRoute(name: "gate", sink: .webhook(url: receiver.url("/ok/gate"), secret: nil),
                                                         events: [.analysisFailed])]
        }, simulator: SeedCommandsTests.mockMode)
        let d = try await canary(t, "a1")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("analysis error-rate failed: 0.2 is not < 0.01 (1 of 1 measurements failed, 0 allowed)"), "\(d.error)")
        #expect(d.stages.filter { $0.status == .stageFailed }.map(\.name) == ["bake(2m, canary at 50%)"])
        // The query was filled for this deployment and carried the token.
        let asked = try #require(prometheus.received.first)
        let query = URLComponents(string: "http://x\(asked.path)")?.queryItems?.first { $0.name == "query" }?.value ?? ""
        #expect(query.contains(#"service="web""#) && query.contains(#"target_group="targetgroup/"#), "\(query)")
        #expect(!query.contains("{{"), "\(query)")
        #expect(asked.headers["authorization"] == "Bearer planted-prometheus-token")
        #expect(!d.error.contains("planted-prometheus-token"))
        // Recorded as its own event, and told of.
        let events = try await t.server.engine.status(id: "a1").events
        #expect(events.contains { $0.kind == .analysisFailed && $0.message.hasPrefix("analysis error-rate failed: 0.2") })
        for _ in 0..<500 where receiver.received.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        let told = try JSONDecoder().decode([String: JSONValue].self, from: try #require(receiver.received.first).body)
        #expect(told["event"]?.stringValue == "analysis_failed" && told["id"]?.stringValue == "a1")
        try await t.stop()
    }

    @Test func aHealthyCanaryIsPromotedWithItsMeasurementsRecorded() async throws {
        let prometheus = try HookStub.start()
        defer { prometheus.stop() }
        prometheus.answer("/prom/api/v1/query", with: Self.vector("0.001"))
        let t = try await TestServer(configure: { Self.configure(&$0, url: prometheus.url("/prom")) }, simulator: SeedCommandsTests.mockMode)
        let d = try await canary(t, "a2")
        #expect(d.status == .succeeded, "\(d.error)")
        let bakes = d.stages.filter { $0.name.hasPrefix("bake(") }
        #expect(bakes.count == 2)
        // 2 minutes at one measurement every 30 s, from the bake's start.
        #expect(bakes.allSatisfy { $0.message.contains("analysis: error-rate 5/5 ok") }, "\(bakes.map(\.message))")
        #expect(prometheus.received.count == 10)
        try await t.stop()
    }

    /// A provider that cannot answer (here: HTTP 500 to every query) is an error, never a
    /// success: past `consecutive_errors` the bake fails.
    @Test func aPrometheusThatCannotAnswerFailsTheBake() async throws {
        let prometheus = try HookStub.start()
        defer { prometheus.stop() }
        let t = try await TestServer(configure: { Self.configure(&$0, url: prometheus.url("/fail"), consecutiveErrors: 1) },
                                     simulator: SeedCommandsTests.mockMode)
        let d = try await canary(t, "a3")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("analysis error-rate failed: its provider could not answer 2 times in a row"), "\(d.error)")
        #expect(d.error.contains("Prometheus answered HTTP 500"), "\(d.error)")
        #expect(prometheus.received.count == 2)
        try await t.stop()
    }

    /// On a service without target groups (ECS controller), there is no baseline to compare
    /// with: the watch fails, rather than passing on a comparison of a query with itself.
    @Test func compareWithoutTargetGroupsFailsTheBake() async throws {
        let prometheus = try HookStub.start()
        defer { prometheus.stop() }
        prometheus.answer("/prom/api/v1/query", with: Self.vector("0.001"))
        let t = try await TestServer(configure: {
            Self.configure(&$0, url: prometheus.url("/prom"))
            $0.analysis.templates = ["latency": AnalysisTemplate(name: "latency", provider: .prometheus, query: #"x{tg="{{target_group}}"}"#,
                                                                 success: nil, maxRatio: 1.5)]
        })
        try t.seedService(name: "web")
        let accepted = await t.client(["-id", "c1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy", "quicksync",
                                       "-config", #"{"analysis":"latency","post_deploy_watch":"1m"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        let d = try await t.waitUntilFinished("c1")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("compare: baseline needs the new and the previous target groups"), "\(d.error)")
        #expect(prometheus.received.isEmpty, "nothing was measured")
        try await t.stop()
    }

    static func matrix(_ values: [Double]) -> String {
        let points = values.enumerated().map { #"[\#(1700000000 + 10 * $0.offset),"\#($0.element)"]"# }.joined(separator: ",")
        return #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":["# + points + "]}]}}"
    }

    /// With `confidence`, Prometheus is asked range queries over `window` for both target
    /// groups, and the Mann-Whitney U test judges the canary's samples against the baseline's.
    @Test func aMannWhitneyComparisonAsksRangeQueries() async throws {
        let prometheus = try HookStub.start()
        defer { prometheus.stop() }
        prometheus.answer("web-green", with: Self.matrix([0.81, 0.79, 0.83, 0.8, 0.78, 0.82]))
        prometheus.answer("web-blue", with: Self.matrix([0.05, 0.051, 0.049, 0.052, 0.048, 0.05]))
        let t = try await TestServer(configure: {
            Self.configure(&$0, url: prometheus.url("/prom"))
            var template = AnalysisTemplate(name: "latency", provider: .prometheus, query: #"p99{tg="{{target_group}}"}"#, success: nil)
            template.confidence = 0.99
            template.window = .seconds(120)
            template.step = .seconds(20)
            $0.analysis.templates = ["error-rate": template]
        }, simulator: SeedCommandsTests.mockMode)
        let d = try await canary(t, "a5")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error.contains("the canary's 6 values (median 0.805) are higher than the baseline's 6 (median 0.05) at 99% confidence"),
                "\(d.error)")
        let asked = try #require(prometheus.received.first)
        let items = URLComponents(string: "http://x\(asked.path)")?.queryItems ?? []
        #expect(asked.path.hasPrefix("/prom/api/v1/query_range?"), "\(asked.path)")
        #expect(items.first { $0.name == "step" }?.value == "20.0")
        let start = Double(items.first { $0.name == "start" }?.value ?? "") ?? 0, end = Double(items.first { $0.name == "end" }?.value ?? "") ?? 0
        #expect(end - start == 120)
        try await t.stop()
    }

    @Test func anUnknownTemplateIsRefusedNamingTheKey() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        let refused = await t.client(["-id", "a4", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy", "canary",
                                      "-config", #"{"analysis":"latency"}"#])
        #expect(refused.err == ["error: config.analysis: no template latency in analysis.templates (none defined) (INVALID_ARGUMENT)"], "\(refused.text)")
        try await t.stop()
    }

    @Test func configNamesTheField() throws {
        let head = "analysis:\n  prometheus: {url: \"http://prometheus:9090\", bearer_token: planted-secret}\n  templates:\n    e:\n"
        let cases: [(String, String)] = [
            (head + "      {provider: prometheus, query: \"x{{pod}}\", success: \"< 1\"}\n", "analysis.templates.e.query: {{pod}} is not a placeholder"),
            (head + "      {provider: prometheus, query: x, success: \"small\"}\n", "analysis.templates.e.success: 'small' is not a comparison"),
            (head + "      {provider: prometheus, query: x, success: \"< 1\", inconclusive: wait}\n", "analysis.templates.e.inconclusive: 'wait' is not fail or pause"),
            ("analysis:\n  templates:\n    e: {provider: prometheus, query: x, success: \"< 1\"}\n", "analysis.templates.e.provider: prometheus needs analysis.prometheus.url"),
            ("strategy:\n  analysis: [nope]\n", "strategy.analysis: no template nope in analysis.templates"),
            (head + "      {provider: prometheus, query: x, compare: baseline}\n", "analysis.templates.e.max_ratio: compare: baseline takes max_ratio"),
            (head + "      {provider: prometheus, query: x, window: 5m, success: \"< 1\"}\n", "analysis.templates.e.window: is for provider: cloudwatch, or with confidence"),
            (head + "      {provider: prometheus, query: \"{{target_group}}\", compare: baseline, confidence: 0.9, window: 24h, step: 1s}\n",
             "analysis.templates.e.step: gives more than 11000 samples in the window"),
            (head + "      {provider: prometheus, query: x, compare: baseline, max_ratio: 2}\n", "analysis.templates.e.query: compare: baseline needs {{target_group}}"),
            (head + "      {provider: prometheus, query: x}\n", "analysis.templates.e.success: is required"),
        ]
        NotificationTests.expectRefused(cases)
        var config = ServerConfig()
        try config.apply(yaml: head + "      {provider: prometheus, query: x, success: \">= 0.99\", interval: 1m, failure_limit: 2}\n"
            + "strategy:\n  analysis: [e]\n", source: "config.yaml")
        #expect(config.deployment.analysis == ["e"])
        #expect(config.analysis.templates["e"]?.failureLimit == 2)
        #expect(config.analysis.templates["e"]?.success?.holds(for: 0.995) == true)
    }
}
