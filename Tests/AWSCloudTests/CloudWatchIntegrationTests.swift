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
}
