import Access
import Engine
import Foundation

/// What a request (or a manifest entry) may ask of the server. Nothing in it runs or is fetched
/// unless the server's config allows it: a hook is only the name of one defined in
/// `strategy.hooks.definitions`, a URL must be under `security.allowed_url_prefixes`. A request
/// may tighten the server's policy but not loosen it (drop a required approval, replace a
/// configured hook or health check, turn off `fail_on_drift`, stop watching a configured
/// alarm or analysis) without the override permission.
struct RequestPolicy: Sendable {
    let defaults: DeploymentSettings
    let hookDefinitions: [String: String]
    let urls: URLPolicy

    /// Refusals: PERMISSION_DENIED naming the key (`field` is where the settings came from:
    /// `config`, or a manifest entry's place). Answers the keys that loosen the policy.
    func check(_ config: [String: String], field: String) throws -> [String] {
        var loosening: [String] = []
        for key in config.keys.sorted() {
            let value = config[key]!
            let name = "\(field).\(key)"
            if key.hasPrefix("hook_"), key != "hook_timeout" {
                guard DeploymentSettings.isHookName(value), hookDefinitions[value] != nil else {
                    let defined = hookDefinitions.keys.sorted()
                    throw EngineError(.permissionDenied, field: name, "\(name): a request may only name a hook defined in the "
                        + "server's config (strategy.hooks.definitions: \(defined.isEmpty ? "none defined" : defined.joined(separator: ", ")))")
                }
                if let point = HookPoint(rawValue: String(key.dropFirst(5))), let configured = defaults.hooks[point], configured != value {
                    loosening.append(key)
                }
            }
            if key == "health_check_url" {
                // A malformed URL is INVALID_ARGUMENT (the engine's reader says why); a
                // well-formed one the server may not call is PERMISSION_DENIED.
                _ = try DeploymentSettings().applying([key: value])
                do { try urls.check(value, field: name) } catch {
                    throw EngineError(.permissionDenied, field: name, error.description)
                }
                if let configured = defaults.healthCheckURL, configured != value { loosening.append(key) }
            }
            if key == "require_approval", defaults.requireApproval, (try? DeploymentSettings().applying([key: value]))?.requireApproval == false {
                loosening.append(key)
            }
            if key == "fail_on_drift", defaults.failOnDrift, (try? DeploymentSettings().applying([key: value]))?.failOnDrift == false {
                loosening.append(key)
            }
            // Adding alarms or analyses tightens; leaving out one that config.yaml sets loosens.
            if key == "alarms", let asked = (try? DeploymentSettings().applying([key: value]))?.alarms,
               !Set(defaults.alarms).isSubset(of: asked) {
                loosening.append(key)
            }
            if key == "analysis", let asked = (try? DeploymentSettings().applying([key: value]))?.analysis,
               !Set(defaults.analysis).isSubset(of: asked) {
                loosening.append(key)
            }
        }
        return loosening
    }
}

/// Who may do what, per call: the authenticated principal (from the interceptor), its roles in
/// the scopes a call touches, and the identity recorded as requester or approver.
struct AccessControl: Sendable {
    let policy: AccessPolicy
    let requests: RequestPolicy
    let metrics: ServerMetrics
    /// Told of each refusal and each override, for the audit log.
    let audit: @Sendable (SecurityEvent) -> Void

    struct SecurityEvent: Sendable {
        var type: String
        var principal: String
        var scope: String
        var detail: String
    }

    /// The caller, allowed `permission` on every scope, or PERMISSION_DENIED naming what is missing.
    @discardableResult
    func require(_ context: ServerContextView, _ permission: Permission, scopes: [String]) throws -> Principal {
        let principal = context.principal
        do {
            try policy.check(principal, permission, in: scopes)
        } catch {
            metrics.authFailure(reason: "permission")
            audit(SecurityEvent(type: "access.denied", principal: principal.id, scope: error.scope,
                                detail: "\(context.method): lacks \(error.permission.rawValue)"))
            throw EngineError(.permissionDenied, "permission denied: \(error)")
        }
        return principal
    }

    /// Who is recorded as having asked or approved: the principal; for an anonymous caller
    /// (a server without authentication), the name it gave (the seed's `-approver`).
    func identity(_ principal: Principal, given: String) -> String {
        principal.method == .anonymous ? String(given.prefix(128)) : principal.id
    }

    /// Checks settings from a request or a manifest; loosening the server's policy needs the
    /// override permission on the scope, and is audited.
    func checkSettings(_ config: [String: String], field: String, principal: Principal?, scope: String, method: String) throws {
        let loosening = try requests.check(config, field: field)
        guard !loosening.isEmpty else { return }
        guard let principal, policy.allows(principal, .override, in: scope) else {
            metrics.authFailure(reason: "request_policy")
            let keys = loosening.map { "\(field).\($0)" }.joined(separator: ", ")
            throw EngineError(.permissionDenied, field: "\(field).\(loosening[0])",
                              "\(keys): would loosen the server's policy (config.yaml); that needs the override permission (admin) on \(scope)")
        }
        audit(SecurityEvent(type: "policy.override", principal: principal.id, scope: scope,
                            detail: "\(method): overrides \(loosening.joined(separator: ", "))"))
    }
}

extension AccessControl {
    /// Checks the settings of every entry of a release (the manifest's `config:`), with the
    /// entry's place in the manifest as the field. `principal` nil: a release from Git, which
    /// cannot override anything.
    func checkRelease(_ release: ReleaseRequest, principal: Principal?, method: String) throws {
        for (entry, scope) in zip(release.entries, DeploymentAPIService.scopes(of: release)) {
            let place = entry.source.isEmpty ? entry.label : entry.source
            try checkSettings(entry.config, field: "\(place) config", principal: principal, scope: scope, method: method)
        }
    }

    /// Four eyes on Git: the author of the commit that started a release does not approve it.
    func refuseCommitAuthor(_ principal: Principal, of release: ReleaseRequest) throws {
        guard let author = release.origin?.author, !principal.emails.isEmpty else { return }
        let email = author.split(separator: "<").last.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "> ")) } ?? ""
        guard !email.isEmpty, principal.emails.contains(where: { $0.caseInsensitiveCompare(email) == .orderedSame }) else { return }
        throw EngineError(.permissionDenied, field: "approver",
                          "\(principal.id) wrote commit \(release.origin!.commit.prefix(12)) that started release \(release.id) and cannot approve it; another approver must")
    }
}

/// What access control reads of a call: its principal and its method.
struct ServerContextView: Sendable {
    let principal: Principal
    let method: String
}
