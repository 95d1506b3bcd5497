import CloudModel
import Engine
import Foundation

/// `analysis:` in config.yaml: where metrics are queried, and the templates bakes judge.
public struct AnalysisConfig: Sendable, Equatable {
    public var templates: [String: AnalysisTemplate] = [:]
    public var prometheus: PrometheusSettings?

    public init() {}

    static func parse(_ a: ConfigObject, environment: [String: String]) throws -> AnalysisConfig {
        try a.only(["prometheus", "templates"])
        var config = AnalysisConfig()
        if let p = try a.objectIfPresent("prometheus") {
            try p.only(["url", "bearer_token", "bearer_token_env", "username", "password", "password_env", "timeout"])
            guard let url = try p.string("url"), let parsed = URL(string: url),
                  ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
                throw p.failure("url", "is required: the http(s) URL of the Prometheus server (e.g. http://prometheus:9090)")
            }
            var settings = PrometheusSettings(url: url)
            settings.bearerToken = try p.secret("bearer_token", environment: environment)
            settings.username = try p.string("username")
            settings.password = try p.secret("password", environment: environment)
            settings.timeout = try p.duration("timeout") ?? settings.timeout
            config.prometheus = settings
        }
        guard let templates = try a.objectIfPresent("templates") else { return config }
        for name in templates.fields.keys.sorted() {
            guard DeploymentSettings.isHookName(name) else { throw templates.failure(name, "a template name is letters, digits, - _ .") }
            guard let t = try templates.objectIfPresent(name) else { throw templates.failure(name, "must be a mapping") }
            try t.only(["provider", "query", "interval", "initial_delay", "success", "failure_limit", "consecutive_errors", "inconclusive",
                        "compare", "max_ratio", "confidence", "period", "window", "step"])
            guard let providerName = try t.string("provider"), let provider = AnalysisTemplate.Provider(rawValue: providerName) else {
                throw t.failure("provider", "is required: prometheus or cloudwatch")
            }
            if provider == .prometheus, config.prometheus == nil {
                throw t.failure("provider", "prometheus needs analysis.prometheus.url")
            }
            var metricQueries: [MetricDataQuery] = []
            let query: String
            switch provider {
            case .prometheus:
                guard let promQL = try t.string("query"), !promQL.isEmpty else { throw t.failure("query", "is required") }
                if t.fields["period"] != nil { throw t.failure("period", "is for provider: cloudwatch (Prometheus has step, with confidence)") }
                for key in ["window", "step"] where t.fields[key] != nil && t.fields["confidence"] == nil {
                    throw t.failure(key, "is for provider: cloudwatch, or with confidence (the range query of a Mann-Whitney comparison)")
                }
                query = promQL
            case .cloudwatch:
                if t.fields["step"] != nil { throw t.failure("step", "is for provider: prometheus (CloudWatch has period)") }
                metricQueries = try CloudWatchQueries.parse(t)
                query = CloudWatchQueries.shown(metricQueries)
            }
            for placeholder in placeholders(in: query) where !AnalysisTemplate.placeholders.contains(placeholder) {
                throw t.failure("query", "{{\(placeholder)}} is not a placeholder (\(AnalysisTemplate.placeholders.map { "{{\($0)}}" }.joined(separator: ", ")))")
            }
            var maxRatio: Double?
            var confidence: Double?
            if let compare = try t.string("compare") {
                guard compare == "baseline" else { throw t.failure("compare", "'\(compare.prefix(32))' is not baseline") }
                maxRatio = try t.double("max_ratio", min: 0.000001)
                confidence = try t.double("confidence", min: 0.5)
                guard (maxRatio == nil) != (confidence == nil) else {
                    throw t.failure("max_ratio", "compare: baseline takes max_ratio (e.g. 1.5: at most 1.5 times the baseline's value) "
                        + "or confidence (e.g. 0.95: the Mann-Whitney U test), one of them")
                }
                if let c = confidence, c >= 1 { throw t.failure("confidence", "'\(c)' must be below 1 (e.g. 0.95)") }
                guard query.contains("{{target_group}}") else {
                    throw t.failure("query", "compare: baseline needs {{target_group}} in the query (filled with each side's target group)")
                }
            } else {
                for key in ["max_ratio", "confidence"] where t.fields[key] != nil { throw t.failure(key, "needs compare: baseline") }
            }
            var success: AnalysisTemplate.Condition?
            if let text = try t.string("success") {
                guard let condition = AnalysisTemplate.Condition(text) else {
                    throw t.failure("success", "'\(text.prefix(64))' is not a comparison with a number (<, <=, >, >=, == and a number, e.g. \"< 0.01\")")
                }
                success = condition
            } else if maxRatio == nil, confidence == nil {
                throw t.failure("success", "is required (e.g. \"< 0.01\"), or compare: baseline with max_ratio or confidence")
            }
            var template = AnalysisTemplate(name: name, provider: provider, query: query, success: success, maxRatio: maxRatio)
            template.metricQueries = metricQueries
            template.confidence = confidence
            template.step = try t.duration("step") ?? template.step
            guard template.step >= .seconds(1) else { throw t.failure("step", "must be 1s or more") }
            if provider == .cloudwatch || confidence != nil {
                template.window = try t.duration("window") ?? template.window
                guard template.window >= .seconds(60), template.window <= .seconds(86400) else {
                    throw t.failure("window", "must be between 1m and 24h")
                }
                if confidence != nil, provider == .prometheus, template.window.seconds / template.step.seconds > 11000 {
                    throw t.failure("step", "gives more than 11000 samples in the window (Prometheus's limit): raise step or shorten window")
                }
            }
            template.interval = try t.duration("interval") ?? template.interval
            template.initialDelay = try t.duration("initial_delay") ?? template.initialDelay
            template.failureLimit = try t.int("failure_limit", min: 0, max: 1000) ?? template.failureLimit
            template.consecutiveErrors = try t.int("consecutive_errors", min: 0, max: 1000) ?? template.consecutiveErrors
            switch try t.string("inconclusive") {
            case nil, "fail"?: break
            case "pause"?: template.pausesWhenInconclusive = true
            case let other?: throw t.failure("inconclusive", "'\(other.prefix(32))' is not fail or pause")
            }
            config.templates[name] = template
        }
        return config
    }

    static func placeholders(in query: String) -> [String] {
        var found: [String] = []
        var rest = query[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            found.append(String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return found
    }
}

/// `analysis.prometheus`: the server whose HTTP API (`/api/v1/query`) answers templates.
/// The token and password are secrets: never logged or shown.
public struct PrometheusSettings: Sendable, Equatable {
    public var url: String
    public var bearerToken: String?
    public var username: String?
    public var password: String?
    public var timeout: Duration = .seconds(10)

    public init(url: String) { self.url = url }
}
