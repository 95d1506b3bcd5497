import MotoHarness
import AWSAuth
@testable import AWSCloud
import CloudModel
import Foundation
import Testing

@Suite("SNS against moto", .enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct SNSIntegrationTests {
    /// Publish over the wire (Query protocol, signed for `sns`): moto answers a message id, and
    /// a topic that does not exist is AWS's NotFound.
    @Test func publishToATopic() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let sns = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).sns
        let id = try await sns.publish(topicArn: moto.string("topicArn"), subject: "deployment d1: prod/web (canary) succeeded\nsecond line",
                                       message: #"{"event":"succeeded"}"#)
        #expect(!id.isEmpty)
        let missing = await #expect(throws: CloudError.self) {
            try await sns.publish(topicArn: "arn:aws:sns:us-east-1:123456789012:no-such-topic", subject: "", message: "x")
        }
        #expect(missing?.code == "NotFound", "\(String(describing: missing))")
    }
}
