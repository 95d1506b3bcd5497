import CloudModel
@testable import Engine
import Foundation
import Synchronization
import Testing

/// One template's judgement, without a server: what reaches the provider, and when it fails.
@Suite struct AnalysisRunTests {
    /// Answers every query with `value` and keeps the queries asked.
    final class Answering: MetricsProvider {
        let value: Double
        let asked = Mutex<[String]>([])
        init(_ value: Double) { self.value = value }
        func value(of query: String, provider: AnalysisTemplate.Provider) async throws -> Double? {
            asked.withLock { $0.append(query) }
            return value
        }
    }

    /// Answers GetMetricData with `datapoints` for the query that returns data, and keeps the
    /// queries and windows asked.
    final class CloudWatch: CloudWatchAPI {
        let datapoints: [(Date, Double)]
        let asked = Mutex<[(queries: [MetricDataQuery], start: Date, end: Date)]>([])
        init(_ datapoints: [(Date, Double)]) { self.datapoints = datapoints }
        func describeAlarms(names: [String]) async throws -> [MetricAlarm] { [] }
        func getMetricData(queries: [MetricDataQuery], start: Date, end: Date) async throws -> [MetricDataResult] {
            asked.withLock { $0.append((queries, start, end)) }
            return queries.filter(\.returnData).map {
                MetricDataResult(id: $0.id, timestamps: datapoints.map(\.0), values: datapoints.map(\.1))
            }
        }
    }

    static func sources(_ prometheus: Answering, cloudWatch: CloudWatch = CloudWatch([])) -> MetricSources {
        MetricSources(prometheus: prometheus, cloudWatch: cloudWatch)
    }

    static let template = AnalysisTemplate(name: "errors", provider: .prometheus, query: #"x{service="{{service}}"}"#,
                                           success: AnalysisTemplate.Condition("< 0.01"))

    /// A name the simulator and ECS would refuse, but a store or another cloud might hold:
    /// it never reaches the query.
    @Test func aNameThatWouldChangeTheQueryIsNotFilledIn() async throws {
        let metrics = Answering(0.001)
        var run = AnalysisRun(Self.template, bakeStart: Date(timeIntervalSince1970: 0))
        await #expect(throws: AnalysisFailure.self) {
            try await run.measure(Self.sources(metrics), placeholders: ["service": #"web"} or vector(0) #"#], now: Date(timeIntervalSince1970: 0))
        }
        #expect(metrics.asked.withLock { $0 }.isEmpty)

        try await run.measure(Self.sources(metrics), placeholders: ["service": "web-1", "cluster": #"not"used{"#], now: Date(timeIntervalSince1970: 0))
        #expect(metrics.asked.withLock { $0 } == [#"x{service="web-1"}"#], "a placeholder the query does not use is not checked")
    }

    @Test func failuresPastTheLimitFailTheBake() async throws {
        var template = Self.template
        template.failureLimit = 1
        let metrics = Answering(0.2)
        var run = AnalysisRun(template, bakeStart: Date(timeIntervalSince1970: 0))
        try await run.measure(Self.sources(metrics), placeholders: ["service": "web"], now: Date(timeIntervalSince1970: 0))
        #expect(run.failed == 1 && run.last.hasSuffix("failed"))
        let failure = await #expect(throws: AnalysisFailure.self) {
            try await run.measure(Self.sources(metrics), placeholders: ["service": "web"], now: Date(timeIntervalSince1970: 60))
        }
        #expect(failure?.description.hasPrefix("analysis errors failed: 0.2 is not < 0.01 (2 of 2 measurements failed, 1 allowed)") == true)
    }

    /// A CloudWatch template: its placeholders filled in the dimensions and the expression, a
    /// window that ends now, and the newest datapoint judged (whatever order they come in).
    @Test func cloudWatchTemplatesJudgeTheNewestDatapoint() async throws {
        let errors = MetricName(namespace: "AWS/ApplicationELB", name: "HTTPCode_Target_5XX_Count",
                                dimensions: [MetricDimension(name: "TargetGroup", value: "{{target_group}}")])
        var template = AnalysisTemplate(name: "rate", provider: .cloudwatch, query: "shown", success: AnalysisTemplate.Condition("< 0.05"))
        template.metricQueries = [
            MetricDataQuery(id: "errors", metricStat: .init(metric: errors, period: 60, stat: "Sum"), returnData: false),
            MetricDataQuery(id: "rate", expression: "errors / {{canary_weight}}"),
        ]
        template.window = .seconds(600)
        let now = Date(timeIntervalSince1970: 6000)
        let cloudWatch = CloudWatch([(now.addingTimeInterval(-120), 0.01), (now.addingTimeInterval(-60), 0.2), (now.addingTimeInterval(-180), 0.01)])
        var run = AnalysisRun(template, bakeStart: now)
        let failure = await #expect(throws: AnalysisFailure.self) {
            try await run.measure(Self.sources(Answering(0), cloudWatch: cloudWatch),
                                  placeholders: ["target_group": "targetgroup/green/1", "canary_weight": "10"], now: now)
        }
        #expect(failure?.description.hasPrefix("analysis rate failed: 0.2 is not < 0.05") == true, "\(String(describing: failure))")
        let asked = try #require(cloudWatch.asked.withLock { $0.first })
        #expect(asked.start == now.addingTimeInterval(-600) && asked.end == now)
        #expect(asked.queries[0].metricStat?.metric.dimensions == [MetricDimension(name: "TargetGroup", value: "targetgroup/green/1")])
        #expect(asked.queries[1].expression == "errors / 10")
    }

    /// No datapoint in the window is no data: inconclusive, which fails the bake.
    @Test func cloudWatchWithoutDatapointsIsInconclusive() async throws {
        var template = AnalysisTemplate(name: "rate", provider: .cloudwatch, query: "q", success: AnalysisTemplate.Condition("< 0.05"))
        template.metricQueries = [MetricDataQuery(id: "q", expression: "SELECT 1")]
        var run = AnalysisRun(template, bakeStart: Date(timeIntervalSince1970: 0))
        let failure = await #expect(throws: AnalysisFailure.self) {
            try await run.measure(Self.sources(Answering(0)), placeholders: [:], now: Date(timeIntervalSince1970: 0))
        }
        #expect(failure?.description.contains("no data (inconclusive)") == true)
    }
}

/// The Mann-Whitney U test against SciPy's `mannwhitneyu(..., alternative="greater",
/// method="asymptotic")` (with ties and the continuity correction).
@Suite struct MannWhitneyTests {
    @Test func pValuesMatchSciPy() {
        let cases: [([Double], [Double], Double)] = [
            ([5, 6, 7, 8, 9, 10], [1, 2, 3, 4, 5, 6], 0.006374398634189963),
            ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 0.5422350133116141),
            ([1.1, 0.9, 1.0, 1.2, 0.95, 1.05], [1.0, 1.1, 0.9, 1.02, 0.98, 1.01], 0.37374555030231266),
        ]
        for (canary, baseline, expected) in cases {
            #expect(abs(MannWhitney.pHigher(canary, than: baseline) - expected) < 1e-9, "\(canary) vs \(baseline)")
        }
        #expect(MannWhitney.pHigher([1, 1, 1], than: [1, 1, 1]) == 1, "all tied: no evidence")
        #expect(MannWhitney.median([3, 1, 2]) == 2 && MannWhitney.median([4, 1, 3, 2]) == 2.5)
    }

    /// Slow samples against fast ones fail at 95%; alike ones pass; too few are inconclusive.
    @Test func judgesTheWindowsSamples() async throws {
        var template = AnalysisTemplate(name: "p99", provider: .cloudwatch, query: "q", success: nil)
        template.confidence = 0.95
        template.metricQueries = [MetricDataQuery(id: "q", expression: "{{target_group}}")]
        let now = Date(timeIntervalSince1970: 6000)
        final class BySide: CloudWatchAPI {
            let sides: [String: [Double]]
            init(_ sides: [String: [Double]]) { self.sides = sides }
            func describeAlarms(names: [String]) async throws -> [MetricAlarm] { [] }
            func getMetricData(queries: [MetricDataQuery], start: Date, end: Date) async throws -> [MetricDataResult] {
                let values = sides[queries[0].expression ?? ""] ?? []
                return [MetricDataResult(id: "q", timestamps: values.indices.map { end.addingTimeInterval(Double(-10 * $0)) }, values: values)]
            }
        }
        let placeholders = ["target_group": "green", "baseline_target_group": "blue"]
        func run(_ sides: [String: [Double]]) async throws -> AnalysisRun {
            var run = AnalysisRun(template, bakeStart: now)
            try await run.measure(MetricSources(prometheus: AnalysisRunTests.Answering(0), cloudWatch: BySide(sides)), placeholders: placeholders, now: now)
            return run
        }
        let alike = try await run(["green": [1.1, 0.9, 1.0, 1.2, 0.95, 1.05], "blue": [1.0, 1.1, 0.9, 1.02, 0.98, 1.01]])
        #expect(alike.last.hasPrefix("p99 median 1.025 (baseline 1.005, p 0.373746) ok"), "\(alike.last)")
        let slow = await #expect(throws: AnalysisFailure.self) {
            _ = try await run(["green": [5, 6, 7, 8, 9, 10], "blue": [1, 2, 3, 4, 5, 6]])
        }
        #expect(slow?.description.hasPrefix("analysis p99 failed: the canary's 6 values (median 7.5) are higher than the baseline's 6 "
            + "(median 3.5) at 95% confidence (Mann-Whitney U, p = 0.006374)") == true, "\(String(describing: slow))")
        let few = await #expect(throws: AnalysisFailure.self) { _ = try await run(["green": [5, 6, 7], "blue": [1, 2, 3, 4, 5, 6]]) }
        #expect(few?.description.contains("the canary's query returned 3 samples in its window, 5 are needed (inconclusive)") == true)
    }
}
