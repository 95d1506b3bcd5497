import AWSAuth
import CloudModel
import Foundation

/// Amazon CloudWatch over the Query protocol: the alarms a deployment's bakes watch and the
/// metrics its analysis templates query.
public struct CloudWatchClient: CloudWatchAPI {
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

    /// GetMetricData, every page; a query's datapoints are gathered across pages, newest first.
    public func getMetricData(queries: [MetricDataQuery], start: Date, end: Date) async throws -> [MetricDataResult] {
        var results: [MetricDataResult] = []
        var token: String?
        repeat {
            var p = Self.parameters(queries, start: start, end: end)
            p.addOptional("NextToken", token)
            let result = try await rpc.call("GetMetricData", p)
            for member in result.members("MetricDataResults") {
                let page = try Self.result(member)
                if let i = results.firstIndex(where: { $0.id == page.id }) {
                    results[i].timestamps += page.timestamps
                    results[i].values += page.values
                    if page.statusCode != "Complete" { results[i].statusCode = page.statusCode }
                } else {
                    results.append(page)
                }
            }
            token = result.string("NextToken")
            if token?.isEmpty == true { token = nil }
        } while token != nil
        return results
    }

    static func parameters(_ queries: [MetricDataQuery], start: Date, end: Date) -> QueryParameters {
        var p = QueryParameters()
        for (i, q) in queries.enumerated() {
            let key = "MetricDataQueries.member.\(i + 1)"
            p.add("\(key).Id", q.id)
            if let stat = q.metricStat {
                p.add("\(key).MetricStat.Metric.Namespace", stat.metric.namespace)
                p.add("\(key).MetricStat.Metric.MetricName", stat.metric.name)
                for (j, d) in stat.metric.dimensions.enumerated() {
                    p.add("\(key).MetricStat.Metric.Dimensions.member.\(j + 1).Name", d.name)
                    p.add("\(key).MetricStat.Metric.Dimensions.member.\(j + 1).Value", d.value)
                }
                p.add("\(key).MetricStat.Period", String(stat.period))
                p.add("\(key).MetricStat.Stat", stat.stat)
                p.addOptional("\(key).MetricStat.Unit", stat.unit)
            }
            p.addOptional("\(key).Expression", q.expression)
            p.addOptional("\(key).Label", q.label)
            p.addOptional("\(key).Period", q.period.map(String.init))
            p.add("\(key).ReturnData", q.returnData ? "true" : "false")
        }
        p.add("StartTime", start.ISO8601Format())
        p.add("EndTime", end.ISO8601Format())
        p.add("ScanBy", "TimestampDescending")
        return p
    }

    static func result(_ member: XMLTree) throws -> MetricDataResult {
        let read = ResponseReader(call: "monitoring:GetMetricData")
        let id = try read.string(member, "Id", in: "metric data result")
        let timestamps = try member.members("Timestamps").map { node in
            guard let date = ResponseReader.parseISO(node.text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw read.missing("the timestamps of result \(id)") }
            return date
        }
        let values = try member.members("Values").map { node in
            guard let value = Double(node.text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw read.missing("the values of result \(id)") }
            return value
        }
        guard timestamps.count == values.count else { throw read.missing("as many values as timestamps in result \(id)") }
        return MetricDataResult(id: id, label: member.string("Label") ?? "", timestamps: timestamps, values: values,
                                statusCode: member.string("StatusCode") ?? "Complete")
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
