import Access
import Audit
import CloudModel
import DeployAPI
import Engine
import Foundation
import GRPCCore
import Hummingbird
import NIOCore
import SwiftProtobuf

/// The web dashboard on the HTTP port: server-rendered pages of deployments and releases, live
/// by Server-Sent Events, and approve / reject / roll back for those whose role allows it.
/// Every read and action goes through the gRPC service's own methods (the same checks, the
/// same engine calls, audited with the principal); nothing here touches the cloud.
struct Dashboard: Sendable {
    let api: DeploymentAPIService
    let authenticator: Authenticator
    let metrics: ServerMetrics
    /// The audit log the audit page reads (nil: none configured).
    let audit: AuditLog?
    /// Every change, for the live overview.
    let feed: DashboardFeed
    /// Sign-in through the OIDC issuer (`dashboard.oidc`).
    let signOn: DashboardSignOn?
    /// Where it is served ("" or "/ops", behind a reverse proxy).
    let prefix: String
    let sessions = DashboardSessions()

    static let maxForm = 16 * 1024
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .init("Referrer-Policy")!: "same-origin",
        .init("X-Frame-Options")!: "DENY",
        .cacheControl: "no-store",
    ]

    func register(on router: Router<BasicRequestContext>) {
        let root = prefix.isEmpty ? router.group() : router.group(RouterPath(prefix))
        root.get("/") { request, _ in await page(request) { try await overview(request, $0) } }
        root.get("deployments/:id") { request, context in
            await page(request) { try await deployment(try context.parameters.require("id"), request, $0) }
        }
        root.get("releases/:id") { request, context in
            await page(request) { try await release(try context.parameters.require("id"), request, $0) }
        }
        root.get("services/:cluster/:service") { request, context in
            await page(request) {
                try await service(cluster: try context.parameters.require("cluster"), service: try context.parameters.require("service"), request, $0)
            }
        }
        root.get("audit") { request, _ in await page(request) { try auditPage(request, $0) } }
        root.get("events") { request, _ in overviewEvents(request) }
        for kind in ["deployments", "releases"] {
            root.get("\(kind)/:id/events") { request, context in await events(kind, try context.parameters.require("id"), request) }
        }
        for action in ["approve", "reject", "rollback"] {
            root.post("deployments/:id/\(action)") { request, context in
                await act(action, kind: "deployments", id: try context.parameters.require("id"), request)
            }
            root.post("releases/:id/\(action)") { request, context in
                await act(action, kind: "releases", id: try context.parameters.require("id"), request)
            }
        }
        root.get("login") { _, _ in html(.ok, DashboardPages.login(strangerPage, failed: false, issuer: signOn?.issuer)) }
        root.get("login/oidc") { _, _ in await startSignOn() }
        root.get("login/oidc/callback") { request, _ in await finishSignOn(request) }
        root.post("login") { request, _ in await login(request) }
        root.post("logout") { request, _ in await logout(request) }
        root.get("static/dashboard.js") { _, _ in asset(DashboardAssets.script, type: "text/javascript; charset=utf-8") }
        root.get("static/dashboard.css") { _, _ in asset(DashboardAssets.style, type: "text/css; charset=utf-8") }
    }

    // MARK: Who looks

    struct Viewer {
        let session: DashboardSessions.Session
        /// Set when the session was made for this request (anonymous access): its cookie goes out.
        let cookie: String?

        var principal: Principal { session.principal }
    }

    /// The viewer of a request: its session; else, where the server serves anonymous callers, a
    /// new anonymous session (for the form token). Nil: sign in first.
    func viewer(_ request: Request) -> Viewer? {
        if let session = sessions.session(request.cookies[DashboardSessions.cookie]?.value) { return Viewer(session: session, cookie: nil) }
        guard authenticator.allowsAnonymous else { return nil }
        let session = sessions.create(for: .anonymous)
        return Viewer(session: session, cookie: DashboardSessions.setCookie(session, path: cookiePath, secure: secure(request)))
    }

    var cookiePath: String { prefix.isEmpty ? "/" : prefix }

    /// Reached over TLS (a reverse proxy says so): cookies are `Secure`.
    func secure(_ request: Request) -> Bool {
        request.headers[.init("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    func pageContext(_ viewer: Viewer, notice: String? = nil) -> PageContext {
        let signedIn = viewer.principal.method != .anonymous
        return PageContext(prefix: prefix, who: signedIn ? viewer.principal.id : "anonymous", signedIn: signedIn,
                           csrf: viewer.session.csrf, notice: notice)
    }

    /// A page for someone not signed in (no session, no form token).
    var strangerPage: PageContext { PageContext(prefix: prefix, who: "", signedIn: false, csrf: "", notice: nil) }

    /// A gRPC call context carrying the viewer, as the auth interceptor would have made it.
    func context(_ principal: Principal, _ method: MethodDescriptor) -> ServerContext {
        var context = ServerContext(descriptor: method, remotePeer: "dashboard", localPeer: "dashboard", cancellation: .init())
        context.transportSpecific = CallerContext(principal: principal)
        return context
    }

    // MARK: Pages

    /// Renders a page for the viewer; sends strangers to sign in; an API error becomes a page
    /// that says it (404, 403, ...).
    func page(_ request: Request, _ render: (Viewer) async throws -> String) async -> Response {
        guard let viewer = viewer(request) else { return redirect(prefix + "/login") }
        do {
            return html(.ok, try await render(viewer), cookie: viewer.cookie)
        } catch {
            let (status, text) = Self.describe(error)
            return html(status, DashboardPages.message(status == .notFound ? "Not found" : "Refused", text, pageContext(viewer)),
                        cookie: viewer.cookie)
        }
    }

    func overview(_ request: Request, _ viewer: Viewer) async throws -> String {
        let query = request.uri.queryParameters
        let filter = DashboardPages.Filter(cluster: String(query["cluster"] ?? ""), service: String(query["service"] ?? ""),
                                           status: String(query["status"] ?? ""), since: String(query["since"] ?? ""))
        var list = Deployment_V1_ListDeploymentsRequest()
        list.cluster = filter.cluster
        list.service = filter.service
        list.pageSize = 100
        if !filter.status.isEmpty, let status = DeploymentStatus(rawValue: filter.status) { list.statuses = [ProtoMapping.status(status)] }
        if let period = DashboardPages.Filter.periods.first(where: { $0.0 == filter.since }) {
            list.createdAfter = Google_Protobuf_Timestamp(date: api.engine.now.addingTimeInterval(-period.2))
        }
        let deployments = try await api.listDeployments(request: list,
                                                        context: context(viewer.principal, Deployment_V1_DeploymentService.Method.ListDeployments.descriptor))
        var releaseList = Deployment_V1_ListReleasesRequest()
        releaseList.pageSize = 50
        let releases = try await api.listReleases(request: releaseList,
                                                  context: context(viewer.principal, Deployment_V1_DeploymentService.Method.ListReleases.descriptor))
        return DashboardPages.overview(deployments: deployments.deployments, releases: releases.releases, filter: filter,
                                       pageContext(viewer, notice: Self.notice(request)))
    }

    func deployment(_ id: String, _ request: Request, _ viewer: Viewer) async throws -> String {
        var get = Deployment_V1_GetStatusRequest()
        get.deploymentID = id
        let shown = try await api.getStatus(request: get, context: context(viewer.principal, Deployment_V1_DeploymentService.Method.GetStatus.descriptor))
        let events = try await api.engine.status(id: shown.deploymentID).events.map(ProtoMapping.event)
        let scope = AccessPolicy.scope(cluster: shown.cluster, service: shown.service)
        let actions = DashboardPages.Actions(approve: api.access.policy.allows(viewer.principal, .approve, in: scope),
                                             rollback: api.access.policy.allows(viewer.principal, .rollback, in: scope))
        return DashboardPages.deployment(shown, events: events, actions: actions, pageContext(viewer, notice: Self.notice(request)))
    }

    func release(_ id: String, _ request: Request, _ viewer: Viewer) async throws -> String {
        var get = Deployment_V1_GetStatusRequest()
        get.deploymentID = id
        let shown = try await api.getRelease(request: get, context: context(viewer.principal, Deployment_V1_DeploymentService.Method.GetRelease.descriptor))
        let scopes = shown.entries.map { e in
            e.kind == "scheduled_task" ? AccessPolicy.scope(rule: e.rule) : AccessPolicy.scope(cluster: e.cluster, service: e.service)
        }
        let policy = api.access.policy
        let actions = DashboardPages.Actions(approve: scopes.allSatisfy { policy.allows(viewer.principal, .approve, in: $0) },
                                             rollback: scopes.allSatisfy { policy.allows(viewer.principal, .rollback, in: $0) })
        let events = try await api.releases.status(id: shown.releaseID).events.map(ProtoMapping.releaseEvent)
        return DashboardPages.release(shown, events: events, actions: actions, pageContext(viewer, notice: Self.notice(request)))
    }

    func service(cluster: String, service: String, _ request: Request, _ viewer: Viewer) async throws -> String {
        var list = Deployment_V1_ListDeploymentsRequest()
        list.cluster = cluster
        list.service = service
        list.pageSize = 100
        let history = try await api.listDeployments(request: list,
                                                    context: context(viewer.principal, Deployment_V1_DeploymentService.Method.ListDeployments.descriptor))
        var drift: Deployment_V1_DriftReport?
        if request.uri.queryParameters["drift"] == "1" {
            var ask = Deployment_V1_DriftRequest()
            ask.cluster = cluster
            ask.service = service
            drift = try await api.detectDrift(request: ask, context: context(viewer.principal, Deployment_V1_DeploymentService.Method.DetectDrift.descriptor))
        }
        return DashboardPages.service(cluster: cluster, service: service, history: history.deployments, drift: drift, pageContext(viewer))
    }

    /// The newest 500 entries the viewer may see (entries of a service: a view grant on it;
    /// the others, such as refused calls: a view grant on every scope), filtered; the chain
    /// verified on demand.
    func auditPage(_ request: Request, _ viewer: Viewer) throws -> String {
        let query = request.uri.queryParameters
        let filter = DashboardPages.AuditFilter(type: String(query["type"] ?? ""), user: String(query["user"] ?? ""),
                                                service: String(query["service"] ?? ""))
        guard let audit else {
            return DashboardPages.message("Audit log", "No audit log is configured (audit.path).", pageContext(viewer))
        }
        let policy = api.access.policy
        let entries = try audit.recentEntries(limit: 5000).filter { e in
            let scope = e.cluster.isEmpty ? AccessPolicy.scope(cluster: "*", service: "*") : AccessPolicy.scope(cluster: e.cluster, service: e.service)
            return policy.allows(viewer.principal, .view, in: scope)
                && (filter.type.isEmpty || e.eventType.contains(filter.type))
                && (filter.user.isEmpty || e.user.contains(filter.user))
                && (filter.service.isEmpty || "\(e.cluster)/\(e.service)".contains(filter.service))
        }
        let verification = query["verify"] == "1" ? ((try? audit.verifyNow()).map { "Chain: \($0)" } ?? "The audit log cannot be read.") : nil
        return DashboardPages.audit(Array(entries.prefix(500)), filter: filter, verification: verification, pageContext(viewer))
    }

    /// `?done=approve` after an action: the line shown above the page.
    static func notice(_ request: Request) -> String? {
        switch request.uri.queryParameters["done"] {
        case "approve": "Approved."
        case "reject": "Rejected."
        case "rollback": "Rollback requested."
        default: nil
        }
    }

    // MARK: Live

    /// Server-Sent Events of a deployment (`WatchDeployment`'s stream) or a release
    /// (`WatchRelease`'s), after the sequence the page already shows (`after`, or the browser's
    /// `Last-Event-ID` on a reconnection).
    func events(_ kind: String, _ id: String, _ request: Request) async -> Response {
        guard let viewer = viewer(request) else { return Response(status: .unauthorized) }
        let after = max(Int64(request.uri.queryParameters["after"].flatMap { Int64(String($0)) } ?? 0),
                        Int64(request.headers[.init("Last-Event-ID")!] ?? "") ?? 0)
        let methods = Deployment_V1_DeploymentService.Method.self
        var get = Deployment_V1_GetStatusRequest()
        get.deploymentID = id
        var watch = Deployment_V1_WatchRequest()
        watch.deploymentID = id
        let api = self.api
        // Refused (not found, not allowed): answered before the stream starts.
        do {
            if kind == "releases" {
                _ = try await api.getRelease(request: get, context: context(viewer.principal, methods.GetRelease.descriptor))
                let call = context(viewer.principal, methods.WatchRelease.descriptor)
                return stream(after: after, sequence: \.sequence, frame: Self.frame) { [watch] writer in
                    try await api.watchRelease(request: watch, response: writer, context: call)
                }
            }
            _ = try await api.getStatus(request: get, context: context(viewer.principal, methods.GetStatus.descriptor))
            let call = context(viewer.principal, methods.WatchDeployment.descriptor)
            return stream(after: after, sequence: \.sequence, frame: Self.frame) { [watch] writer in
                try await api.watchDeployment(request: watch, response: writer, context: call)
            }
        } catch {
            let (status, text) = Self.describe(error)
            return plain(status, text)
        }
    }

    /// The overview's live rows: each change the viewer may see, as it happens.
    func overviewEvents(_ request: Request) -> Response {
        guard let viewer = viewer(request) else { return Response(status: .unauthorized) }
        let policy = api.access.policy
        let principal = viewer.principal
        let feed = self.feed
        return eventStream { writer in
            let changes = feed.subscribe()
            var sequence: Int64 = 0
            for await change in changes where change.scopes.allSatisfy({ policy.allows(principal, .view, in: $0) }) {
                sequence += 1
                try await writer.write(ByteBuffer(string: Self.frame(sequence, [
                    "kind": .string(change.kind.rawValue), "id": .string(change.id), "title": .string(change.title),
                    "strategy": .string(change.strategy), "status": .string(change.status.rawValue),
                    "progress": .number(Double(change.progress)), "updated": .string(change.updated.ISO8601Format()),
                ])))
            }
        }
    }

    /// An SSE response of what `watch` writes, after sequence `after`; the watch ends with the
    /// response (the page went away) or ends it (the deployment or release ended).
    func stream<Event: Sendable>(after: Int64, sequence: @escaping @Sendable (Event) -> Int64, frame: @escaping @Sendable (Event) -> String,
                                 watch: @escaping @Sendable (RPCWriter<Event>) async throws -> Void) -> Response {
        eventStream { writer in
            let (events, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(1000))
            let watching = Task {
                try? await watch(RPCWriter(wrapping: StreamWriter(continuation: continuation)))
                continuation.finish()
            }
            defer { watching.cancel() }
            for await event in events where sequence(event) > after {
                try await writer.write(ByteBuffer(string: frame(event)))
            }
        }
    }

    /// A `text/event-stream` response whose frames `write` sends (a reconnection hint first).
    func eventStream(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/event-stream; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: "retry: 3000\n\n"))
            try await write(&writer)
            try await writer.finish(nil)
        })
    }

    /// One event as an SSE frame: its sequence as the id, its fields as JSON.
    static func frame(_ e: Deployment_V1_DeploymentEvent) -> String {
        frame(e.sequence, [
            "type": .string(e.type), "stage": .string(e.stage), "status": .string(e.status.name),
            "progress": .number(Double(e.progressPercent)), "message": .string(e.message), "at": .string(e.at.date.ISO8601Format()),
        ])
    }

    static func frame(_ e: Deployment_V1_ReleaseEvent) -> String {
        frame(e.sequence, [
            "type": .string(e.type), "entry": .string(e.entry), "status": .string(e.status.name),
            "message": .string(e.message), "at": .string(e.at.date.ISO8601Format()),
        ])
    }

    static func frame(_ sequence: Int64, _ fields: [String: JSONValue]) -> String {
        var fields = fields
        fields["sequence"] = .number(Double(sequence))
        return "id: \(sequence)\ndata: \(JSONValue.object(fields).serialized())\n\n"
    }

    struct StreamWriter<Event: Sendable>: RPCWriterProtocol {
        let continuation: AsyncStream<Event>.Continuation
        func write(_ element: Event) async throws { continuation.yield(element) }
        func write(contentsOf elements: some Sequence<Event>) async throws {
            for e in elements { continuation.yield(e) }
        }
    }

    // MARK: Actions

    /// Approve, reject or roll back: a signed-in (or, where allowed, anonymous) viewer, the
    /// form's token, and the confirmation ticked; then the gRPC method itself.
    func act(_ action: String, kind: String, id: String, _ request: Request) async -> Response {
        guard let session = sessions.session(request.cookies[DashboardSessions.cookie]?.value) else {
            return plain(.forbidden, "refused: no session (sign in, and use the dashboard's own forms)")
        }
        let form: [String: String]
        do { form = try await Self.form(request) } catch { return plain(.contentTooLarge, "the form is over \(Self.maxForm) bytes") }
        guard let token = form["csrf"], DashboardSessions.sameToken(token, session.csrf) else {
            metrics.authFailure(reason: "dashboard_csrf")
            return plain(.forbidden, "refused: the form's token is missing or wrong (reload the page)")
        }
        let viewer = Viewer(session: session, cookie: nil)
        guard form["confirm"] == "yes" else {
            return html(.badRequest, DashboardPages.message("Not confirmed", "Tick \"I confirm\" to \(action).", pageContext(viewer)))
        }
        let reason = form["reason"] ?? ""
        let methods = Deployment_V1_DeploymentService.Method.self
        do {
            switch (kind, action) {
            case ("deployments", "approve"), ("deployments", "reject"), ("releases", "approve"), ("releases", "reject"):
                var decision = Deployment_V1_ApprovalRequest()
                decision.deploymentID = id
                decision.reason = reason
                switch (kind, action) {
                case ("deployments", "approve"): _ = try await api.approve(request: decision, context: context(session.principal, methods.Approve.descriptor))
                case ("deployments", _): _ = try await api.reject(request: decision, context: context(session.principal, methods.Reject.descriptor))
                case (_, "approve"):
                    _ = try await api.approveRelease(request: decision, context: context(session.principal, methods.ApproveRelease.descriptor))
                default: _ = try await api.rejectRelease(request: decision, context: context(session.principal, methods.RejectRelease.descriptor))
                }
            default:
                var rollback = Deployment_V1_RollbackRequest()
                rollback.deploymentID = id
                rollback.reason = reason
                if kind == "deployments" {
                    _ = try await api.rollback(request: rollback, context: context(session.principal, methods.Rollback.descriptor))
                } else {
                    _ = try await api.rollbackRelease(request: rollback, context: context(session.principal, methods.RollbackRelease.descriptor))
                }
            }
        } catch {
            let (status, text) = Self.describe(error)
            return html(status, DashboardPages.message("Refused", text, pageContext(viewer)))
        }
        return redirect("\(prefix)/\(kind)/\(HTML.component(id))?done=\(action)")
    }

    // MARK: Signing in

    func login(_ request: Request) async -> Response {
        let form = (try? await Self.form(request)) ?? [:]
        let token = form["token"] ?? ""
        guard !token.isEmpty, let principal = try? await authenticator.principal(authorization: "Bearer \(token)", certificate: nil),
              principal.method != .anonymous else {
            metrics.authFailure(reason: "dashboard_sign_in")
            return html(.unauthorized, DashboardPages.login(strangerPage, failed: true, issuer: signOn?.issuer))
        }
        if let old = request.cookies[DashboardSessions.cookie]?.value { sessions.end(old) }
        let session = sessions.create(for: principal)
        return redirect(prefix + "/", cookie: DashboardSessions.setCookie(session, path: cookiePath, secure: secure(request)))
    }

    /// Off to the issuer.
    func startSignOn() async -> Response {
        guard let signOn else { return plain(.notFound, "no OIDC sign-in is configured (dashboard.oidc)") }
        do {
            return redirect(try await signOn.start())
        } catch {
            metrics.authFailure(reason: "dashboard_oidc")
            return plain(.badGateway, "sign-in through \(signOn.issuer) cannot start: \(error)")
        }
    }

    /// Back from the issuer with a code: a session for the principal of its ID token.
    func finishSignOn(_ request: Request) async -> Response {
        guard let signOn else { return plain(.notFound, "no OIDC sign-in is configured (dashboard.oidc)") }
        let query = request.uri.queryParameters
        guard let code = query["code"], let state = query["state"] else {
            metrics.authFailure(reason: "dashboard_oidc")
            let said = query["error"].map { ": the issuer answered \(String($0).prefix(100))" } ?? ""
            return html(.unauthorized, DashboardPages.message("Sign-in failed", "The sign-in did not complete\(said).", strangerPage))
        }
        do {
            let principal = try await signOn.finish(code: String(code), state: String(state))
            if let old = request.cookies[DashboardSessions.cookie]?.value { sessions.end(old) }
            let session = sessions.create(for: principal)
            return redirect(prefix + "/", cookie: DashboardSessions.setCookie(session, path: cookiePath, secure: secure(request)))
        } catch {
            metrics.authFailure(reason: "dashboard_oidc")
            return html(.unauthorized, DashboardPages.message("Sign-in failed", "\(error)", strangerPage))
        }
    }

    func logout(_ request: Request) async -> Response {
        if let session = sessions.session(request.cookies[DashboardSessions.cookie]?.value),
           let form = try? await Self.form(request), let token = form["csrf"], DashboardSessions.sameToken(token, session.csrf) {
            sessions.end(session.id)
        }
        return redirect(prefix + "/login", cookie: DashboardSessions.clearCookie(path: cookiePath, secure: secure(request)))
    }

    // MARK: Responses

    func html(_ status: HTTPResponse.Status, _ text: String, cookie: String? = nil) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers = Self.securityHeaders
        headers[.location] = location.isEmpty ? "/" : location
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    func asset(_ text: String, type: String) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The HTTP status and words of an API error (the message the gRPC client would print).
    static func describe(_ error: any Error) -> (HTTPResponse.Status, String) {
        let rpc = (error as? RPCError) ?? ProtoMapping.rpcError(error)
        let status: HTTPResponse.Status = switch rpc.code {
        case .notFound: .notFound
        case .permissionDenied: .forbidden
        case .unauthenticated: .unauthorized
        case .invalidArgument, .failedPrecondition: .conflict
        case .resourceExhausted: .tooManyRequests
        default: .internalServerError
        }
        return (status, rpc.message)
    }

    /// An `application/x-www-form-urlencoded` body.
    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: maxForm)
        var out: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let name = decode(parts[0])
            if out[name] == nil { out[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return out
    }
}
