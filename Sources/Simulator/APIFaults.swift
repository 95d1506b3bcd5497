import CloudModel
import CloudRuntime
import Foundation
import Synchronization

/// API faults on demand (`mock.api_faults`): the fraction of calls that fail, by how they fail.
/// Each call draws once; the fractions add up to at most 1.
public struct APIFaultRates: Sendable, Equatable {
    /// Answered `ThrottlingException: Rate exceeded` (HTTP 400), as a throttled AWS call is.
    public var throttle: Double
    /// Answered HTTP 500 (`ServerException` for ECS, `InternalFailure` for the others).
    public var serverError: Double
    /// Done, but never answered: the caller times out and cannot tell whether it happened.
    public var timeout: Double
    /// The connection is reset before the call is read: nothing happened.
    public var reset: Double

    public init(throttle: Double = 0, serverError: Double = 0, timeout: Double = 0, reset: Double = 0) {
        self.throttle = throttle
        self.serverError = serverError
        self.timeout = timeout
        self.reset = reset
    }

    public var total: Double { throttle + serverError + timeout + reset }
}

/// How an injected fault reaches the caller.
public enum APIFault: String, Sendable, CaseIterable {
    case throttle, serverError = "server_error", timeout, reset

    /// In process, the time-out and the reset are the errors our AWS transport makes of them
    /// (retryable, HTTP status 0). The wire endpoint recognises them with `transportFault(_:)` and
    /// does what they say instead of answering.
    func error(for call: CloudCall) -> CloudError {
        switch self {
        case .throttle: CloudError(code: CloudError.throttling, message: "Rate exceeded", httpStatus: 400)
        case .serverError: CloudError(code: call.service == "ecs" ? CloudError.server : "InternalFailure",
                                      message: "We encountered an internal error. Please try again.", httpStatus: 500)
        case .timeout: CloudError(code: "RequestTimeout", message: "\(call): \(Self.marker) time-out", httpStatus: 0)
        case .reset: CloudError(code: "TransportError", message: "\(call): \(Self.marker) connection reset", httpStatus: 0)
        }
    }

    private static let marker = "simulated"

    /// The transport fault an error thrown by `cloud` stands for, if it is one.
    public static func transportFault(_ error: CloudError) -> APIFault? {
        guard error.httpStatus == 0, error.message.contains(marker) else { return nil }
        return switch error.code {
        case "RequestTimeout": .timeout
        case "TransportError": .reset
        default: nil
        }
    }
}

/// Fails a fraction of the calls it sees (`APIFaultRates`), drawn from a seeded generator.
/// Sits inside the call counter (injected faults are counted as calls, and throttles as
/// throttled) and outside the throttle enforcer (a call that fails here takes no token).
final class APIFaultInjector: CloudMiddleware {
    let rates: APIFaultRates
    private struct Draws {
        var generator: IdentifierGenerator
        var injected: [String: Int] = [:]
    }
    private let draws: Mutex<Draws>

    init(rates: APIFaultRates, seed: UInt64) {
        self.rates = rates
        draws = Mutex(Draws(generator: IdentifierGenerator(seed: seed ^ 0xFA17)))
    }

    /// Faults injected so far, by `APIFault` raw value.
    var injected: [String: Int] { draws.withLock { $0.injected } }

    func intercept<T: Sendable>(_ call: CloudCall, _ next: @Sendable () async throws -> T) async throws -> T {
        guard let fault = draw() else { return try await next() }
        if fault == .timeout { _ = try await next() }
        throw fault.error(for: call)
    }

    private func draw() -> APIFault? {
        draws.withLock { d in
            var x = Double(d.generator.next() >> 11) / Double(1 << 53)
            for (fault, rate) in [(APIFault.throttle, rates.throttle), (.serverError, rates.serverError),
                                  (.timeout, rates.timeout), (.reset, rates.reset)] {
                if x < rate {
                    d.injected[fault.rawValue, default: 0] += 1
                    return fault
                }
                x -= rate
            }
            return nil
        }
    }
}
