import Foundation

/// One result of the pre-flight checks.
public struct PreflightFinding: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        /// The check passed.
        case ok
        /// The check could not be made; deploying may still work.
        case warning
        /// Deploying will fail; `message` says what is missing.
        case failure
    }

    /// `credentials`, `permissions` or `role`.
    public var check: String
    public var severity: Severity
    public var message: String

    public init(check: String, severity: Severity, message: String) {
        self.check = check
        self.severity = severity
        self.message = message
    }

    public var description: String { "[\(severity.rawValue)] \(check): \(message)" }
}

extension Array where Element == PreflightFinding {
    /// True when no finding is a failure.
    public var preflightPassed: Bool { !contains { $0.severity == .failure } }
    public var preflightFailures: [PreflightFinding] { filter { $0.severity == .failure } }
}
