import AWSAuth
import Foundation

/// What a signer needs to sign one request.
public struct SigningInput: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    public var method: String
    public var url: URL
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var date: Date
}

/// Signs a request and returns every header to send (Host, X-Amz-Date, X-Amz-Security-Token,
/// Authorization and the headers given). The transport calls it once per attempt.
public typealias RequestSigner = @Sendable (SigningInput) -> [(String, String)]
