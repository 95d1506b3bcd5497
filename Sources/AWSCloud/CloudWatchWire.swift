import CloudModel
import Foundation

/// The other end of `CloudWatchClient`: CloudWatch's Query requests (DescribeAlarms,
/// GetMetricData) answered by a `CloudWatchAPI`, as XML, in the shapes the client reads.
/// (The AWS CLI and boto3 now speak CloudWatch's CBOR protocol, which is not served.)
public struct CloudWatchWire: Sendable {
    public static let operations: Set<String> = ["DescribeAlarms", "GetMetricData"]
    public static let namespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"

    let cloudWatch: any CloudWatchAPI

    public init(cloudWatch: any CloudWatchAPI) { self.cloudWatch = cloudWatch }

    public func call(_ action: String, _ form: [String: String]) async throws -> String {
        let read = QueryForm(service: "monitoring", action: action, fields: form, invalidCode: "InvalidParameterValue")
        let result: [XML]
        switch action {
        case "DescribeAlarms":
            let alarms = try await cloudWatch.describeAlarms(names: read.list("AlarmNames"))
            result = [.node("MetricAlarms", alarms.map { alarm in
                .node("member", [.text("AlarmName", alarm.name), .text("StateValue", alarm.state.rawValue),
                                 .text("StateReason", alarm.reason)])
            }), .node("CompositeAlarms", [])]
        case "GetMetricData":
            func date(_ key: String) throws -> Date {
                guard let date = ResponseReader.parseISO(try read.string(key)) else { throw read.invalid(key, "an ISO 8601 time") }
                return date
            }
            let results = try await cloudWatch.getMetricData(queries: try Self.queries(read), start: try date("StartTime"),
                                                             end: try date("EndTime"))
            result = [.node("MetricDataResults", results.map { r in
                .node("member", [.text("Id", r.id), .text("Label", r.label),
                                 .node("Timestamps", r.timestamps.map { .text("member", $0.ISO8601Format()) }),
                                 .node("Values", r.values.map { .text("member", String($0)) }),
                                 .text("StatusCode", r.statusCode)])
            })]
        default:
            throw CloudError(code: "InvalidAction", message: "\(action.prefix(100)) is not served by this endpoint")
        }
        return XML.document(action, namespace: Self.namespace, result: result)
    }

    /// `MetricDataQueries.member.N.*`, as `CloudWatchClient.parameters` writes them.
    static func queries(_ read: QueryForm) throws -> [MetricDataQuery] {
        var queries: [MetricDataQuery] = []
        while case let key = "MetricDataQueries.member.\(queries.count + 1)", let id = read.fields["\(key).Id"] {
            var stat: MetricDataQuery.Stat?
            if let name = read.fields["\(key).MetricStat.Metric.MetricName"] {
                var dimensions: [MetricDimension] = []
                while case let d = "\(key).MetricStat.Metric.Dimensions.member.\(dimensions.count + 1)", let dn = read.fields["\(d).Name"] {
                    dimensions.append(MetricDimension(name: dn, value: read.fields["\(d).Value"] ?? ""))
                }
                guard let period = Int(try read.string("\(key).MetricStat.Period")), period > 0 else {
                    throw read.invalid("\(key).MetricStat.Period", "a number of seconds")
                }
                stat = MetricDataQuery.Stat(metric: MetricName(namespace: try read.string("\(key).MetricStat.Metric.Namespace"), name: name,
                                                               dimensions: dimensions),
                                            period: period, stat: try read.string("\(key).MetricStat.Stat"),
                                            unit: read.fields["\(key).MetricStat.Unit"])
            }
            let expression = read.fields["\(key).Expression"]
            guard stat != nil || expression != nil else { throw read.invalid("\(key).MetricStat", "or an Expression is required") }
            queries.append(MetricDataQuery(id: id, metricStat: stat, expression: expression, label: read.fields["\(key).Label"],
                                           period: read.fields["\(key).Period"].flatMap { Int($0) },
                                           returnData: read.fields["\(key).ReturnData"] != "false"))
            if queries.count > 500 { throw read.invalid("MetricDataQueries", "at most 500 queries") }
        }
        guard !queries.isEmpty else { throw read.invalid("MetricDataQueries.member.1.Id") }
        return queries
    }
}
