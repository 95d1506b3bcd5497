import Access
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import X509

/// Proves who calls: a bearer token (an API token of `auth.tokens_file`, or an OIDC JWT), else
/// a client certificate (mTLS), else anonymous where the server allows it. A refusal never
/// says which part was wrong.
final class Authenticator: Sendable {
    let tokens: TokenStore?
    let jwt: JWTVerifier?
    /// Anonymous callers are served (no authentication configured, or `auth.allow_anonymous`).
    let allowsAnonymous: Bool

    init(tokens: TokenStore?, jwt: JWTVerifier?, allowsAnonymous: Bool) {
        self.tokens = tokens
        self.jwt = jwt
        self.allowsAnonymous = allowsAnonymous
    }

    struct Failure: Error {
        /// A label of `ecs_auth_failures_total`.
        let reason: String
    }

    /// The principal of a call with this `authorization` header value and client certificate.
    func principal(authorization: String?, certificate: Certificate?) async throws(Failure) -> Principal {
        if let header = authorization {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw Failure(reason: "bad_token") }
            let token = String(parts[1]).trimmingCharacters(in: .whitespaces)
            if let jwt, token.split(separator: ".", omittingEmptySubsequences: false).count == 3 {
                do { return try await jwt.principal(for: token, now: Date()) } catch { throw Failure(reason: "bad_jwt") }
            }
            guard let principal = tokens?.principal(for: token) else { throw Failure(reason: "bad_token") }
            return principal
        }
        if let certificate {
            guard let name = Self.name(of: certificate) else { throw Failure(reason: "bad_certificate") }
            return Principal(method: .mtls, name: name, emails: Self.emails(of: certificate))
        }
        guard allowsAnonymous else { throw Failure(reason: "missing") }
        return .anonymous
    }

    /// The subject's common name, else the first DNS name or e-mail of the SAN extension.
    static func name(of certificate: Certificate) -> String? {
        for rdn in certificate.subject {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                let text = String(describing: attribute.value)
                if !text.isEmpty { return text }
            }
        }
        if let san = try? certificate.extensions.subjectAlternativeNames {
            for name in san {
                switch name {
                case .dnsName(let dns): return dns
                case .rfc822Name(let email): return email
                default: continue
                }
            }
        }
        return nil
    }

    static func emails(of certificate: Certificate) -> [String] {
        guard let san = try? certificate.extensions.subjectAlternativeNames else { return [] }
        return san.compactMap { if case .rfc822Name(let email) = $0 { email } else { nil } }
    }
}

/// Passes the authenticated principal from the interceptor to the service, in the context.
struct CallerContext: ServerContext.TransportSpecific {
    let principal: Principal
}

extension ServerContext {
    /// The caller, as the interceptor proved it (anonymous where nothing was proven).
    var principal: Principal { (transportSpecific as? CallerContext)?.principal ?? .anonymous }
}

/// Authenticates every call but the health service's; refusals are UNAUTHENTICATED, counted
/// and (at most a few a second) audited.
struct AuthInterceptor: ServerInterceptor {
    let authenticator: Authenticator
    /// Calls per authenticated caller (anonymous callers exist only where no auth is configured).
    let limiter: CallRateLimiter
    let metrics: ServerMetrics
    let onRefusal: @Sendable (_ reason: String, _ method: String, _ peer: String) -> Void

    static let message = "authentication required: present a valid API token (-token), OIDC token, or client certificate"

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if context.descriptor.service.fullyQualifiedService == "grpc.health.v1.Health" {
            return try await next(request, context)
        }
        let header = request.metadata[stringValues: "authorization"].first(where: { _ in true })
        let certificate = (context.transportSpecific as? HTTP2ServerTransport.Posix.Context)?.peerCertificate
        let principal: Principal
        do {
            principal = try await authenticator.principal(authorization: header, certificate: certificate)
        } catch {
            metrics.authFailure(reason: error.reason)
            onRefusal(error.reason, context.descriptor.fullyQualifiedMethod, context.remotePeer)
            throw RPCError(code: .unauthenticated, message: Self.message)
        }
        if principal.method != .anonymous, let wait = limiter.take(principal.id) {
            metrics.authFailure(reason: "rate_limited")
            let seconds = String(format: "%.1f", max(0.1, Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18))
            throw RPCError(code: .resourceExhausted,
                           message: "rate limit: more than \(Int(limiter.perSecond)) calls a second from \(principal.id) "
                               + "(security.rate_limit); retry in \(seconds)s")
        }
        var context = context
        context.transportSpecific = CallerContext(principal: principal)
        return try await next(request, context)
    }
}
