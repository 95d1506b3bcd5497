import MotoHarness
import AWSAuth
import AWSCloud
import CloudModel
import Foundation
import Testing
import CloudRuntime

@Suite("SigV4 against moto with authentication on",
       .enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct AuthIntegrationTests {
    @Test func rightKeyWorksAndWrongSecretFailsOnceWithAClearError() async throws {
        let moto = try await MotoServer.start(auth: true)
        defer { moto.stop() }
        let keyID = moto.string("accessKeyId"), secret = moto.string("secretAccessKey")
        #expect(!keyID.isEmpty && !secret.isEmpty)

        let good = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials(accessKeyID: keyID, secret: secret))
        let me = try await good.sts.getCallerIdentity()
        #expect(me.arn == moto.string("userArn"))
        let services = try await good.ecs.describeServices(cluster: moto.string("cluster"), services: ["web"])
        #expect(services.count == 1)
        let listeners = try await good.elb.describeListeners(loadBalancerArn: moto.string("loadBalancerArn"))
        #expect(listeners.count == 1)

        // A wrong secret, through the retrying, rate-limited cloud: one attempt, a clear error.
        let wrongSecret = "wrong-\(secret.prefix(6))-secret-value"
        let attempts = Counter()
        let bad = AWSCloudFactory(environment: try moto.environment(),
                                  credentials: StaticCredentials(accessKeyID: keyID, secret: wrongSecret),
                                  signer: { input in attempts.add(); return AWSTransport.sigV4(input) })
        let retries = Counter()
        let cloud = bad.makeCloud(retry: RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(10)),
                                  rateLimiter: RateLimiterMiddleware(clock: SystemClock()),
                                  onRetry: { _ in retries.add() })
        for call in [{ _ = try await cloud.ecs.describeServices(cluster: "demo", services: ["web"]) },
                     { _ = try await cloud.elb.describeListeners(loadBalancerArn: moto.string("loadBalancerArn")) },
                     { _ = try await cloud.identity.getCallerIdentity() }] as [@Sendable () async throws -> Void] {
            let error = await #expect(throws: CloudError.self) { try await call() }
            #expect(error?.code == "SignatureDoesNotMatch")
            #expect(error?.httpStatus == 403)
            #expect(error?.isRetryable == false)
            #expect(error?.message.lowercased().contains("signature") == true)
            #expect(error.map { !"\($0)".contains(wrongSecret) } == true)
        }
        #expect(attempts.value == 3, "one HTTP attempt per call")
        #expect(retries.value == 0)

        let unknownKey = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials())
        let unknown = await #expect(throws: CloudError.self) { try await unknownKey.sts.getCallerIdentity() }
        #expect(unknown?.code == "InvalidClientTokenId")
        #expect(unknown?.isRetryable == false)
    }
}
