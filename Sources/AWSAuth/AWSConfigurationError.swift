import Foundation

/// Why the region or an endpoint could not be worked out.
public enum AWSConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No source named a region; lists the sources looked at.
    case noRegion(tried: [String])
    /// A region that is not a plain AWS region name (letters, digits and dashes).
    case invalidRegion(source: String, value: String)
    /// An endpoint setting that is not an absolute http(s) URL with a host.
    case invalidEndpoint(source: String)

    public var description: String {
        switch self {
        case .noRegion(let tried):
            "no AWS region configured; looked at \(tried.joined(separator: ", "))"
        case .invalidRegion(let source, let value):
            "\(source) holds an invalid region name '\(value)'"
        case .invalidEndpoint(let source):
            "\(source) is not an absolute http(s) URL with a host"
        }
    }
}
