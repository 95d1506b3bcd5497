import Foundation

/// An error answered by the cloud (AWS or the simulator), with AWS's error code.
public struct CloudError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// HTTP status, where one was received (0 otherwise).
    public var httpStatus: Int

    public init(code: String, message: String, httpStatus: Int = 400) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
    }

    public var description: String { "\(code): \(message)" }

    // Codes the engine and the retry layer act on.
    public static let throttling = "ThrottlingException"
    public static let client = "ClientException"
    public static let server = "ServerException"
    public static let serviceNotFound = "ServiceNotFoundException"
    public static let clusterNotFound = "ClusterNotFoundException"
    public static let invalidParameter = "InvalidParameterException"
    public static let accessDenied = "AccessDenied"
    public static let listenerNotFound = "ListenerNotFound"
    public static let targetGroupNotFound = "TargetGroupNotFound"
    public static let ruleNotFound = "RuleNotFound"
    public static let taskSetNotFound = "TaskSetNotFoundException"
    public static let resourceNotFound = "ResourceNotFoundException"

    /// Throttling, server-side failures and transport failures are worth another try;
    /// validation and permission errors never are.
    public var isRetryable: Bool {
        if [Self.throttling, "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
            Self.server, "ServiceUnavailable", "InternalFailure", "RequestTimeout", "TransportError"].contains(code) {
            return true
        }
        return httpStatus >= 500
    }

    public var isThrottling: Bool {
        [Self.throttling, "Throttling", "TooManyRequestsException", "RequestLimitExceeded"].contains(code)
    }

    public static func notFound(_ code: String, _ message: String) -> CloudError {
        CloudError(code: code, message: message, httpStatus: 400)
    }
}
