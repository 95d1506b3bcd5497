import AWSAuth
import CloudModel
import Foundation

/// Amazon SNS over the Query protocol: notifications to a topic.
public struct SNSClient: TopicsAPI {
    let rpc: QueryProtocol

    public init(transport: AWSTransport, environment: AWSEnvironment) {
        rpc = QueryProtocol(transport: transport, service: .sns, environment: environment)
    }

    /// Publish; the subject is cut to SNS's 100 characters (ASCII, no line breaks).
    public func publish(topicArn: String, subject: String, message: String) async throws -> String {
        var p = QueryParameters()
        p.add("TopicArn", topicArn)
        p.add("Message", message)
        let plain = String(subject.unicodeScalars.map { $0.isASCII && $0.value >= 32 ? Character($0) : " " }).prefix(100)
        if !plain.isEmpty { p.add("Subject", String(plain)) }
        let result = try await rpc.call("Publish", p)
        return try ResponseReader(call: "sns:Publish").string(result, "MessageId", in: "PublishResult")
    }
}
