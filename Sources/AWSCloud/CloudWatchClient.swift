import AWSAuth
import CloudModel
import Foundation

/// Amazon CloudWatch over the Query protocol: the alarms a deployment's bakes watch.
public struct CloudWatchClient: AlarmsAPI {
    let rpc: QueryProtocol

    public init(transport: AWSTransport, environment: AWSEnvironment) {
        rpc = QueryProtocol(transport: transport, service: .cloudWatch, environment: environment)
    }

    /// DescribeAlarms of metric and composite alarms by name (every page).
    public func describeAlarms(names: [String]) async throws -> [MetricAlarm] {
        var alarms: [MetricAlarm] = []
        for start in stride(from: 0, to: names.count, by: 100) {
            var token: String?
            repeat {
                var p = QueryParameters()
                p.addList("AlarmNames", Array(names[start..<min(start + 100, names.count)]))
                p.addList("AlarmTypes", ["MetricAlarm", "CompositeAlarm"])
                p.addOptional("NextToken", token)
                let result = try await rpc.call("DescribeAlarms", p)
                for member in result.members("MetricAlarms") + result.members("CompositeAlarms") {
                    alarms.append(try Self.alarm(member))
                }
                token = result.string("NextToken")
                if token?.isEmpty == true { token = nil }
            } while token != nil
        }
        return alarms
    }

    static func alarm(_ member: XMLTree) throws -> MetricAlarm {
        let read = ResponseReader(call: "monitoring:DescribeAlarms")
        let name = try read.string(member, "AlarmName", in: "alarm")
        guard let state = AlarmState(rawValue: try read.string(member, "StateValue", in: "alarm \(name)")) else {
            throw read.missing("a known StateValue of alarm \(name)")
        }
        return MetricAlarm(name: name, state: state, reason: member.string("StateReason") ?? "")
    }
}
