import Foundation

/// Errors the engine answers requests with. The server maps each kind to a gRPC status.
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalidArgument, notFound, alreadyExists, failedPrecondition, unavailable, unimplemented, permissionDenied
        /// A limit (`limits:`) refuses it for now; the message says when to retry.
        case resourceExhausted
    }

    public var kind: Kind
    /// The request field or resource the error is about, where there is one.
    public var field: String?
    public var message: String
    /// What is wrong with `field`, without the field's name.
    public var detail: String

    public init(_ kind: Kind, field: String? = nil, _ message: String, detail: String? = nil) {
        self.kind = kind
        self.field = field
        self.message = message
        self.detail = detail ?? message
    }

    public var description: String { message }

    public static func invalid(_ field: String, _ message: String) -> EngineError {
        EngineError(.invalidArgument, field: field, "\(field): \(message)", detail: message)
    }
}
