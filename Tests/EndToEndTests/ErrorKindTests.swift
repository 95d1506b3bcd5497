import CloudModel
import Foundation
import GRPCCore
@testable import Server
import Testing

/// An error the cloud answered reaches the client with the status of its kind, the cause kept
/// in the message; INTERNAL is left for bugs.
@Suite struct ErrorKindTests {
    @Test func cloudErrorsKeepTheirKindThroughTheServer() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let deployed = await t.client(["-id", "k1", "-cluster", "prod", "-service", "web", "-taskdef",
                                       #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#])
        #expect(deployed.code == 0, "\(deployed.text)")
        #expect(try await t.waitUntilFinished("k1").status == .succeeded)

        t.sim.failNext(operation: "DescribeServices", code: "AccessDeniedException",
                       message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:DescribeServices")
        let denied = await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"])
        #expect(denied.code == 1)
        #expect(denied.err.first?.hasSuffix("(PERMISSION_DENIED)") == true, "\(denied.text)")
        #expect(denied.text.contains("not authorized to perform: ecs:DescribeServices"), "\(denied.text)")

        t.sim.failNext(operation: "DescribeServices", code: CloudError.clusterNotFound, message: "Cluster not found.")
        let missing = await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"])
        #expect(missing.err.first?.hasSuffix("(NOT_FOUND)") == true, "\(missing.text)")
        try await t.stop()
    }

    @Test(arguments: [
        ("ThrottlingException", 400, RPCError.Code.resourceExhausted),
        ("TooManyRequestsException", 429, .resourceExhausted),
        ("AccessDeniedException", 400, .permissionDenied),
        ("AccessDenied", 403, .permissionDenied),
        ("ExpiredTokenException", 400, .permissionDenied),
        ("ServiceNotFoundException", 400, .notFound),
        ("TargetGroupNotFound", 400, .notFound),
        ("NoSuchEntity", 404, .notFound),
        ("InvalidParameterException", 400, .invalidArgument),
        ("ValidationError", 400, .invalidArgument),
        ("RequestTimeout", 0, .deadlineExceeded),
        ("TransportError", 0, .unavailable),
        ("InternalFailure", 500, .unavailable),
        ("InvalidResponse", 200, .unavailable),
        ("ClientException", 400, .failedPrecondition),
    ])
    func eachKindHasItsStatus(code: String, http: Int, expected: RPCError.Code) {
        let error = CloudError(code: code, message: "m", httpStatus: http)
        #expect(ProtoMapping.code(for: error) == expected)
        #expect(ProtoMapping.rpcError(error).code == expected)
    }
}
