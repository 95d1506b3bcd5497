import CloudModel
import Foundation

/// `analysis.templates.<name>` in config.yaml: a metric query judged during every bake of the
/// deployments that name it (`analysis`). Queries come from the server's config only; a
/// request picks templates by name.
public struct AnalysisTemplate: Sendable, Equatable {
    public enum Provider: String, Sendable, Equatable, CaseIterable { case prometheus, cloudwatch }

    public var name: String
    public var provider: Provider
    /// The query, with placeholders filled per deployment (`AnalysisTemplate.placeholders`):
    /// PromQL for Prometheus; for CloudWatch, what `metricQueries` asks, as shown to people.
    public var query: String
    /// CloudWatch: GetMetricData's queries (placeholders filled in their dimension values,
    /// expressions and labels); exactly one returns data, and its newest datapoint is the value.
    public var metricQueries: [MetricDataQuery] = []
    /// CloudWatch: how far back GetMetricData reads; Prometheus with `confidence`: the range
    /// of the range query.
    public var window: Duration = .seconds(300)
    /// Between measurements.
    public var interval: Duration = .seconds(60)
    /// From the bake's start to the first measurement.
    public var initialDelay: Duration = .zero
    /// What a good value is (with `compare`, a value that meets it passes whatever the baseline).
    public var success: Condition?
    /// Canary versus baseline (`compare: baseline`): the same query, filled for the previous
    /// target group, is measured too; a value above `maxRatio` times the baseline's fails.
    public var maxRatio: Double?
    /// Canary versus baseline with the Mann-Whitney U test (`compare: baseline, confidence:
    /// 0.95`): the samples of `window` on both sides; the canary fails when its values are
    /// higher than the baseline's at this confidence.
    public var confidence: Double?
    /// Prometheus with `confidence`: the step of the range query over `window`.
    public var step: Duration = .seconds(60)
    /// `inconclusive: pause`: a measurement without data pauses the bake until someone approves
    /// (or rolls back), rather than failing it.
    public var pausesWhenInconclusive = false
    /// Failed measurements tolerated per bake (the next one fails it).
    public var failureLimit = 0
    /// Measurements in a row that could not be made (no answer, an error) before the bake fails.
    public var consecutiveErrors = 4

    public init(name: String, provider: Provider, query: String, success: Condition?, maxRatio: Double? = nil) {
        self.name = name
        self.provider = provider
        self.query = query
        self.success = success
        self.maxRatio = maxRatio
    }

    /// The placeholders a query may use.
    public static let placeholders = ["cluster", "service", "target_group", "baseline_target_group", "load_balancer", "task_set",
                                      "canary_weight"]

    /// `"< 0.01"`, `">= 0.99"`: a comparison with a number.
    public struct Condition: Sendable, Equatable, CustomStringConvertible {
        public enum Comparison: String, Sendable, CaseIterable { case lessOrEqual = "<=", greaterOrEqual = ">=", less = "<", greater = ">", equal = "==" }
        public var comparison: Comparison
        public var threshold: Double

        /// Parses `"< 0.01"`; nil when it is not a comparison with a number.
        public init?(_ text: String) {
            let t = text.trimmingCharacters(in: .whitespaces)
            guard let op = Comparison.allCases.first(where: { t.hasPrefix($0.rawValue) }),
                  let value = Double(t.dropFirst(op.rawValue.count).trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
            comparison = op
            threshold = value
        }

        public func holds(for value: Double) -> Bool {
            switch comparison {
            case .less: value < threshold
            case .lessOrEqual: value <= threshold
            case .greater: value > threshold
            case .greaterOrEqual: value >= threshold
            case .equal: value == threshold
            }
        }

        public var description: String { "\(comparison.rawValue) \(Self.format(threshold))" }

        static func format(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
    }

    /// The query with `{{name}}` placeholders replaced (an unknown one is left as it is).
    func filled(_ values: [String: String]) -> String { Self.fill(query, values) }

    /// The CloudWatch queries with their placeholders replaced.
    func filledMetricQueries(_ values: [String: String]) -> [MetricDataQuery] {
        metricQueries.map { q in
            var q = q
            q.expression = q.expression.map { Self.fill($0, values) }
            q.label = q.label.map { Self.fill($0, values) }
            if var stat = q.metricStat {
                stat.metric.dimensions = stat.metric.dimensions.map { MetricDimension(name: $0.name, value: Self.fill($0.value, values)) }
                q.metricStat = stat
            }
            return q
        }
    }

    static func fill(_ text: String, _ values: [String: String]) -> String {
        var out = text
        for (key, value) in values { out = out.replacingOccurrences(of: "{{\(key)}}", with: value) }
        return out
    }

    /// `compare: baseline`, by ratio or by Mann-Whitney.
    public var comparesWithBaseline: Bool { maxRatio != nil || confidence != nil }

}

/// Answers Prometheus queries (the server's Prometheus client). CloudWatch templates go to
/// the cloud's `CloudWatchAPI` (`CloudWatchQuery`).
public protocol MetricsProvider: Sendable {
    /// The query's value now; nil when it has no data (inconclusive). Throws when the provider
    /// cannot be reached or refuses the query (an error, never a success).
    func value(of query: String, provider: AnalysisTemplate.Provider) async throws -> Double?
    /// The query's values over [start, end], one per `step` (a range query); empty when it
    /// has no data.
    func samples(of query: String, start: Date, end: Date, step: Duration) async throws -> [Double]
}

extension MetricsProvider {
    public func samples(of query: String, start: Date, end: Date, step: Duration) async throws -> [Double] {
        throw EngineError(.failedPrecondition, "this metrics provider answers no range queries")
    }
}

/// For engines without metric providers: any analysis fails with this reason.
public struct NoMetrics: MetricsProvider {
    public init() {}
    public func value(of query: String, provider: AnalysisTemplate.Provider) async throws -> Double? {
        throw EngineError(.failedPrecondition, "no metrics provider is configured (analysis.prometheus)")
    }
}

/// Where templates' queries go: Prometheus's to the server's provider, CloudWatch's to the
/// cloud (GetMetricData over the template's `window` up to now).
struct MetricSources: Sendable {
    let prometheus: any MetricsProvider
    let cloudWatch: any CloudWatchAPI

    func value(_ template: AnalysisTemplate, _ placeholders: [String: String], now: Date) async throws -> Double? {
        switch template.provider {
        case .prometheus:
            return try await prometheus.value(of: template.filled(placeholders), provider: .prometheus)
        case .cloudwatch:
            let result = try await metricData(template, placeholders, start: now.addingTimeInterval(-template.window.seconds), now: now)
            // The newest datapoint.
            return zip(result.timestamps, result.values).max { $0.0 < $1.0 }?.1
        }
    }

    /// The result of the template's query that returns data, over [start, now).
    private func metricData(_ template: AnalysisTemplate, _ placeholders: [String: String], start: Date,
                            now: Date) async throws -> MetricDataResult {
        let queries = template.filledMetricQueries(placeholders)
        let results = try await cloudWatch.getMetricData(queries: queries, start: start, end: now)
        guard let result = results.first(where: { r in queries.contains { $0.id == r.id && $0.returnData } }) else {
            throw CloudWatchQueryError(description: "GetMetricData answered no result for the query that returns data")
        }
        guard ["Complete", "PartialData"].contains(result.statusCode) else {
            throw CloudWatchQueryError(description: "GetMetricData answered \(result.statusCode) for \(result.id)")
        }
        return result
    }

    /// The window's values, oldest first.
    func samples(_ template: AnalysisTemplate, _ placeholders: [String: String], now: Date) async throws -> [Double] {
        let start = now.addingTimeInterval(-template.window.seconds)
        switch template.provider {
        case .prometheus:
            return try await prometheus.samples(of: template.filled(placeholders), start: start, end: now, step: template.step)
        case .cloudwatch:
            let result = try await metricData(template, placeholders, start: start, now: now)
            return zip(result.timestamps, result.values).sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    struct CloudWatchQueryError: Error, CustomStringConvertible {
        let description: String
    }
}

/// A bake's analysis failed: the judgement, or the provider that could not answer; or it was
/// inconclusive (no data).
struct AnalysisFailure: Error, CustomStringConvertible {
    let description: String
    let inconclusive: Bool
    init(_ description: String, inconclusive: Bool = false) {
        self.description = description
        self.inconclusive = inconclusive
    }
}

/// One template's measurements within one bake.
struct AnalysisRun: Sendable {
    let template: AnalysisTemplate
    var nextAt: Date
    var measured = 0
    var failed = 0
    var errorsInARow = 0
    /// The last measurement, short (`error-rate 0.002 ok`), and with its condition and query.
    var last = ""
    var lastMeasurement = ""

    static func format(_ v: Double) -> String { AnalysisTemplate.Condition.format((v * 1e6).rounded() / 1e6) }

    init(_ template: AnalysisTemplate, bakeStart: Date) {
        self.template = template
        self.nextAt = bakeStart.adding(template.initialDelay)
    }

    /// Takes one measurement; throws when the bake fails (the message names the template, the
    /// value and the condition).
    mutating func measure(_ metrics: MetricSources, placeholders: [String: String], now: Date) async throws {
        nextAt = now.adding(template.interval)
        let query = template.filled(placeholders)
        let name = template.name
        do {
            // Names from the request reach the query only as plain names: a quote or a brace
            // could change what the query asks.
            let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:")
            if let (key, _) = placeholders.first(where: { key, value in
                template.query.contains("{{\(key)}}") && (value.count > 512 || !value.unicodeScalars.allSatisfy(safe.contains))
            }) {
                throw AnalysisFailure("analysis \(name): {{\(key)}} holds characters that cannot go into a query (letters, digits, - _ . / : only)")
            }
            if template.comparesWithBaseline,
               placeholders["target_group", default: ""].isEmpty || placeholders["baseline_target_group", default: ""].isEmpty {
                throw AnalysisFailure("analysis \(name): compare: baseline needs the new and the previous target groups "
                    + "(a service with the EXTERNAL deployment controller, behind a load balancer)")
            }
            var own = placeholders
            own["target_group"] = placeholders["baseline_target_group"]
            let judgement: Judgement
            if let confidence = template.confidence {
                judgement = try await compareSamples(metrics, placeholders, baseline: own, confidence: confidence, now: now)
            } else {
                judgement = try await compareValues(metrics, placeholders, baseline: own, now: now)
            }
            errorsInARow = 0
            measured += 1
            last = "\(name) \(judgement.shown) \(judgement.ok ? "ok" : "failed")"
            lastMeasurement = "\(last) (\(criteria)): \(query)"
            if judgement.ok { return }
            failed += 1
            if failed > template.failureLimit {
                throw AnalysisFailure("analysis \(name) failed: \(judgement.why) "
                    + "(\(failed) of \(measured) measurements failed, \(template.failureLimit) allowed): \(query)")
            }
        } catch let error as AnalysisFailure {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            errorsInARow += 1
            last = "\(name): error \(errorsInARow) of \(template.consecutiveErrors + 1) allowed in a row"
            lastMeasurement = "\(last): \(error)"
            if errorsInARow > template.consecutiveErrors {
                throw AnalysisFailure("analysis \(name) failed: its provider could not answer \(errorsInARow) times in a row (\(error))")
            }
        }
    }

    /// What a value is judged on: `< 0.01`, `at most 1.5 × the baseline`, `not higher than the
    /// baseline at 95% (Mann-Whitney)`.
    var criteria: String {
        var parts: [String] = []
        if let condition = template.success { parts.append("\(condition)") }
        if let ratio = template.maxRatio { parts.append("at most \(Self.format(ratio)) × the baseline") }
        if let confidence = template.confidence {
            parts.append("not higher than the baseline at \(Self.format(confidence * 100))% (Mann-Whitney)")
        }
        return parts.joined(separator: " or ")
    }

    /// One measurement's verdict: what to show, whether it passed, and why not.
    struct Judgement {
        var shown: String
        var ok: Bool
        var why: String
    }

    /// The value now against `success`, and with `max_ratio` against the baseline's value now:
    /// good when it meets the condition, or stays within the ratio of the baseline.
    private func compareValues(_ metrics: MetricSources, _ placeholders: [String: String], baseline own: [String: String],
                               now: Date) async throws -> Judgement {
        let name = template.name
        guard let value = try await metrics.value(template, placeholders, now: now), value.isFinite else {
            throw AnalysisFailure("analysis \(name): the query returned no data (inconclusive): \(template.filled(placeholders))",
                                  inconclusive: true)
        }
        var baseline: Double?
        if template.maxRatio != nil {
            guard let b = try await metrics.value(template, own, now: now), b.isFinite else {
                throw AnalysisFailure("analysis \(name): the baseline's query returned no data (inconclusive): \(template.filled(own))",
                                      inconclusive: true)
            }
            baseline = b
        }
        let shown = Self.format(value) + (baseline.map { " (baseline \(Self.format($0)))" } ?? "")
        var withinRatio: Bool?
        if let ratio = template.maxRatio, let b = baseline { withinRatio = value <= ratio * b }
        var why: [String] = []
        if let condition = template.success { why.append("is not \(condition)") }
        if let ratio = template.maxRatio, let b = baseline {
            why.append("is more than \(Self.format(ratio)) × the baseline's \(Self.format(b))")
        }
        return Judgement(shown: shown, ok: template.success?.holds(for: value) == true || withinRatio == true,
                         why: "\(Self.format(value)) \(why.joined(separator: " and "))")
    }

    /// The samples of the window, the canary's against the baseline's (Mann-Whitney U): it
    /// fails when the canary's are higher at the stated confidence (unless the canary's median
    /// meets `success`). Fewer than `minimumSamples` on a side is no data (inconclusive).
    private func compareSamples(_ metrics: MetricSources, _ placeholders: [String: String], baseline own: [String: String],
                                confidence: Double, now: Date) async throws -> Judgement {
        let name = template.name
        let canary = try await metrics.samples(template, placeholders, now: now).filter(\.isFinite)
        let baseline = try await metrics.samples(template, own, now: now).filter(\.isFinite)
        for (side, samples, filled) in [("canary", canary, placeholders), ("baseline", baseline, own)] where samples.count < Self.minimumSamples {
            throw AnalysisFailure("analysis \(name): the \(side)'s query returned \(samples.count) samples in its window, "
                + "\(Self.minimumSamples) are needed (inconclusive): \(template.filled(filled))", inconclusive: true)
        }
        let p = MannWhitney.pHigher(canary, than: baseline)
        let median = MannWhitney.median(canary), baselineMedian = MannWhitney.median(baseline)
        let shown = "median \(Self.format(median)) (baseline \(Self.format(baselineMedian)), p \(Self.format(p)))"
        let higher = p < 1 - confidence
        return Judgement(shown: shown, ok: !higher || template.success?.holds(for: median) == true,
                         why: "the canary's \(canary.count) values (median \(Self.format(median))) are higher than the baseline's "
                            + "\(baseline.count) (median \(Self.format(baselineMedian))) at \(Self.format(confidence * 100))% confidence "
                            + "(Mann-Whitney U, p = \(Self.format(p)))"
                            + (template.success.map { ", and the median is not \($0)" } ?? ""))
    }

    /// Samples per side a Mann-Whitney comparison needs.
    static let minimumSamples = 5
}
