import Access
import Foundation
import Synchronization

/// The dashboard's sessions: a random id in an HttpOnly, SameSite=Strict cookie stands for a
/// principal (signed in with an API token, or anonymous where the server serves anonymous
/// callers) and carries the CSRF token every form posts back. Kept in memory: a restart signs
/// everyone out.
final class DashboardSessions: Sendable {
    struct Session: Sendable {
        let id: String
        let principal: Principal
        let csrf: String
        let expires: Date
    }

    static let cookie = "ecs_session"
    static let lifetime: TimeInterval = 8 * 3600
    /// At most this many sessions are kept; the oldest go first.
    static let limit = 10_000

    private let sessions = Mutex<[String: Session]>([:])

    /// A new session for `principal`.
    func create(for principal: Principal, now: Date = Date()) -> Session {
        let session = Session(id: Self.randomToken(), principal: principal, csrf: Self.randomToken(), expires: now + Self.lifetime)
        sessions.withLock { all in
            if all.count >= Self.limit, let oldest = all.values.min(by: { $0.expires < $1.expires }) { all[oldest.id] = nil }
            all[session.id] = session
        }
        return session
    }

    /// The live session of `id`, if any.
    func session(_ id: String?, now: Date = Date()) -> Session? {
        guard let id, !id.isEmpty else { return nil }
        return sessions.withLock { all in
            guard let s = all[id] else { return nil }
            if s.expires <= now {
                all[id] = nil
                return nil
            }
            return s
        }
    }

    func end(_ id: String) { sessions.withLock { $0[id] = nil } }

    /// 32 random bytes, hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Compares in time independent of where the strings differ.
    static func sameToken(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The `Set-Cookie` value of `session` (`Secure` when the dashboard is reached over TLS).
    static func setCookie(_ session: Session, path: String, secure: Bool) -> String {
        "\(cookie)=\(session.id); Path=\(path); Max-Age=\(Int(lifetime)); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    static func clearCookie(path: String, secure: Bool) -> String {
        "\(cookie)=; Path=\(path); Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }
}
