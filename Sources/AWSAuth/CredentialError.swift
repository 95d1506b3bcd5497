import Foundation

/// Why a credential provider gave no credentials. Messages name variables, files, profiles,
/// hosts and role ARNs, never a secret key, session token or identity token.
public enum CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The provider does not apply here (its variables, files or endpoint are absent):
    /// a chain goes on to the next provider.
    case notConfigured(provider: String, reason: String)
    /// The provider applies but could not give credentials: a chain stops with this error,
    /// rather than quietly using another identity.
    case failed(provider: String, reason: String)
    /// No provider of a chain gave credentials; lists what each one answered, in order.
    case noCredentials(tried: [CredentialError])

    public var description: String {
        switch self {
        case .notConfigured(let provider, let reason):
            return "\(provider): \(reason)"
        case .failed(let provider, let reason):
            return "\(provider) failed: \(reason)"
        case .noCredentials(let tried):
            let list = tried.map(\.description).joined(separator: "; ")
            return "no AWS credentials found; tried \(list)"
        }
    }

    /// The provider the error is about (nil for `noCredentials`).
    public var provider: String? {
        switch self {
        case .notConfigured(let provider, _), .failed(let provider, _): provider
        case .noCredentials: nil
        }
    }
}
