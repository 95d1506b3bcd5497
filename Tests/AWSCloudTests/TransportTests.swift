import MotoHarness
import AWSAuth
import AWSCloud
import CloudModel
import Foundation
import Testing
import CloudRuntime

@Suite("Transport failures, timeouts and retries over HTTP")
struct TransportTests {
    func factory(port: Int, timeout: Duration = .seconds(5)) throws -> AWSCloudFactory {
        let environment = try AWSEnvironment(environment: ["AWS_REGION": "us-east-1",
                                                           "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)"])
        return AWSCloudFactory(environment: environment, credentials: StaticCredentials(), timeout: timeout)
    }

    @Test func refusedConnectionIsARetryableTransportError() async throws {
        let port = try MotoServer.freePort()
        let error = await #expect(throws: CloudError.self) { try await factory(port: port, timeout: .seconds(1)).ecs.listServices(cluster: "c", nextToken: nil) }
        #expect(error?.code == "TransportError")
        #expect(error?.isRetryable == true)
        #expect(error?.message.hasPrefix("ecs:ListServices: ") == true)
    }

    @Test func silentServerIsARequestTimeout() async throws {
        let server = try await CannedHTTPServer.start(responses: [], silent: true)
        let started = ContinuousClock.now
        let error = await #expect(throws: CloudError.self) {
            try await factory(port: server.port, timeout: .milliseconds(300)).sts.getCallerIdentity()
        }
        await server.stop()
        #expect(error?.code == "RequestTimeout")
        #expect(error?.isRetryable == true)
        #expect(error?.message.hasPrefix("sts:GetCallerIdentity: no answer within") == true)
        // It gave up (the server never answers); the bound only guards against hanging.
        #expect(started.duration(to: .now) < .seconds(60))
    }

    @Test func throttledThenServerErrorThenAnswerIsRetriedToSuccess() async throws {
        let server = try await CannedHTTPServer.start(responses: [
            .init(status: 400, headers: [("Content-Type", "application/x-amz-json-1.1")],
                  body: #"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
            .init(status: 500, headers: [], body: "<html>oops</html>"),
            .init(status: 200, headers: [("Content-Type", "application/x-amz-json-1.1")],
                  body: #"{"serviceArns":["arn:aws:ecs:us-east-1:1:service/c/a"],"nextToken":"t2"}"#),
        ])
        let retries = Counter()
        let cloud = try factory(port: server.port).makeCloud(
            retry: RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)),
            rateLimiter: RateLimiterMiddleware(clock: SystemClock()), onRetry: { _ in retries.add() })
        let page = try await cloud.ecs.listServices(cluster: "c", nextToken: nil)
        await server.stop()
        #expect(page == ServicePage(serviceArns: ["arn:aws:ecs:us-east-1:1:service/c/a"], nextToken: "t2"))
        #expect(retries.value == 2)
        #expect(server.requestCount == 3)
    }

    @Test func validationErrorOverHTTPIsNotRetried() async throws {
        let server = try await CannedHTTPServer.start(responses: [
            .init(status: 400, headers: [("x-amzn-ErrorType", "InvalidParameterException:http://internal")],
                  body: #"{"message":"desiredCount must be >= 0"}"#),
        ])
        let cloud = try factory(port: server.port).makeCloud(retry: RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(5)),
                                                             rateLimiter: RateLimiterMiddleware(clock: SystemClock()))
        let error = await #expect(throws: CloudError.self) {
            try await cloud.ecs.updateService(UpdateServiceInput(cluster: "c", service: "s", desiredCount: -1))
        }
        await server.stop()
        #expect(error?.code == CloudError.invalidParameter)
        #expect(error?.message == "ecs:UpdateService: desiredCount must be >= 0")
        #expect(server.requestCount == 1)
    }
}
