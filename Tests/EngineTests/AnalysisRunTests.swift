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

    static let template = AnalysisTemplate(name: "errors", provider: .prometheus, query: #"x{service="{{service}}"}"#,
                                           success: AnalysisTemplate.Condition("< 0.01"))

    /// A name the simulator and ECS would refuse, but a store or another cloud might hold:
    /// it never reaches the query.
    @Test func aNameThatWouldChangeTheQueryIsNotFilledIn() async throws {
        let metrics = Answering(0.001)
        var run = AnalysisRun(Self.template, bakeStart: Date(timeIntervalSince1970: 0))
        await #expect(throws: AnalysisFailure.self) {
            try await run.measure(metrics, placeholders: ["service": #"web"} or vector(0) #"#], now: Date(timeIntervalSince1970: 0))
        }
        #expect(metrics.asked.withLock { $0 }.isEmpty)

        try await run.measure(metrics, placeholders: ["service": "web-1", "cluster": #"not"used{"#], now: Date(timeIntervalSince1970: 0))
        #expect(metrics.asked.withLock { $0 } == [#"x{service="web-1"}"#], "a placeholder the query does not use is not checked")
    }

    @Test func failuresPastTheLimitFailTheBake() async throws {
        var template = Self.template
        template.failureLimit = 1
        let metrics = Answering(0.2)
        var run = AnalysisRun(template, bakeStart: Date(timeIntervalSince1970: 0))
        try await run.measure(metrics, placeholders: ["service": "web"], now: Date(timeIntervalSince1970: 0))
        #expect(run.failed == 1 && run.last.hasSuffix("failed"))
        let failure = await #expect(throws: AnalysisFailure.self) {
            try await run.measure(metrics, placeholders: ["service": "web"], now: Date(timeIntervalSince1970: 60))
        }
        #expect(failure?.description.hasPrefix("analysis errors failed: 0.2 is not < 0.01 (2 of 2 measurements failed, 1 allowed)") == true)
    }
}
