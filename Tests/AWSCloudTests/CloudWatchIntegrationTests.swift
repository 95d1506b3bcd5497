import MotoHarness
import AWSAuth
@testable import AWSCloud
import CloudModel
import Foundation
import Testing

@Suite("CloudWatch against moto", .enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct CloudWatchIntegrationTests {
    /// DescribeAlarms over the wire (Query protocol, signed for `monitoring`): the states and
    /// reasons as CloudWatch holds them; a name that matches no alarm is left out.
    @Test func describeAlarmsReadsTheirStates() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let cloudWatch = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).cloudWatch
        let alarms = try await cloudWatch.describeAlarms(names: ["web-5xx", "web-latency", "no-such-alarm"])
        #expect(alarms.sorted { $0.name < $1.name } == [
            MetricAlarm(name: "web-5xx", state: .ok, reason: "Threshold not crossed"),
            MetricAlarm(name: "web-latency", state: .alarm, reason: "Threshold Crossed: 1 datapoint > 10"),
        ])
        #expect(try await cloudWatch.describeAlarms(names: []) == [], "no names: no call, no alarm")
    }

    /// GetMetricData over the wire: a target group's 5XX counts summed per minute, newest first,
    /// as the launcher put them (2 + 5 two minutes ago, 1 + 3 a minute ago).
    @Test func getMetricDataSumsPerPeriod() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let cloudWatch = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).cloudWatch
        let minute = try #require(ISO8601DateFormatter().date(from: moto.string("greenMetricsMinute")))
        let group = "targetgroup/web-green/" + (moto.string("greenTargetGroupArn").split(separator: "/").last ?? "")
        let metric = MetricName(namespace: "AWS/ApplicationELB", name: "HTTPCode_Target_5XX_Count",
                                dimensions: [MetricDimension(name: "TargetGroup", value: group)])
        let results = try await cloudWatch.getMetricData(
            queries: [MetricDataQuery(id: "errors", metricStat: .init(metric: metric, period: 60, stat: "Sum"))],
            start: minute.addingTimeInterval(-300), end: minute.addingTimeInterval(60))
        let errors = try #require(results.first { $0.id == "errors" })
        #expect(errors.values == [4, 7])
        #expect(errors.timestamps == [minute.addingTimeInterval(-60), minute.addingTimeInterval(-120)])
        #expect(errors.statusCode == "Complete")
        let other = MetricName(namespace: "AWS/ApplicationELB", name: "HTTPCode_Target_5XX_Count",
                               dimensions: [MetricDimension(name: "TargetGroup", value: "targetgroup/nothing/0")])
        let none = try await cloudWatch.getMetricData(
            queries: [MetricDataQuery(id: "none", metricStat: .init(metric: other, period: 60, stat: "Sum"))],
            start: minute.addingTimeInterval(-300), end: minute.addingTimeInterval(60))
        #expect(none.first?.values == [], "a metric without datapoints answers no values")
    }
}
