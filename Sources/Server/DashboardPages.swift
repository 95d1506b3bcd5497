import Audit
import DeployAPI
import Engine
import Foundation
import SwiftProtobuf

/// Text for HTML: every value shown goes through `escape`.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A path segment or query value.
    static func component(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}

/// What a page needs besides its data: where the dashboard lives, who looks, the form token.
struct PageContext {
    var prefix: String
    var who: String
    var signedIn: Bool
    var csrf: String
    /// One line above the page: the outcome of an action.
    var notice: String?

    func link(_ path: String) -> String { HTML.escape(prefix + path) }
}

/// The dashboard's pages, rendered on the server (readable without JavaScript).
enum DashboardPages {
    static func layout(_ title: String, _ page: PageContext, _ body: String) -> String {
        var header = "<header><a class=\"home\" href=\"\(page.link("/"))\">ecs-deploy</a>"
            + "<nav><a href=\"\(page.link("/"))\">Deployments</a> <a href=\"\(page.link("/audit"))\">Audit log</a></nav>"
        header += "<span class=\"who\">\(HTML.escape(page.who))</span>"
        if page.signedIn {
            header += "<form method=\"post\" action=\"\(page.link("/logout"))\" class=\"inline\">"
                + "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(page.csrf))\"><button>Sign out</button></form>"
        }
        header += "</header>"
        let notice = page.notice.map { "<p class=\"notice\" role=\"status\">\(HTML.escape($0))</p>" } ?? ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) - ecs-deploy</title>
            <link rel="stylesheet" href="\(page.link("/static/dashboard.css"))">
            <script src="\(page.link("/static/dashboard.js"))" defer></script></head>
            <body>\(header)<main>\(notice)\(body)</main></body></html>
            """
    }


    static func badge(_ status: String, id: String? = nil) -> String {
        "<span class=\"status s-\(HTML.escape(status.lowercased()))\"\(id.map { " id=\"\($0)\"" } ?? "")>\(HTML.escape(status))</span>"
    }

    static func time(_ t: Google_Protobuf_Timestamp) -> String {
        t.seconds == 0 && t.nanos == 0 ? "-" : HTML.escape(t.date.ISO8601Format())
    }

    /// A table; with `id`, rows carry `data-id` (`ids`), for the live overview to find them.
    static func table(_ headers: [String], _ rows: [[String]], empty: String, id: String? = nil, ids: [String] = []) -> String {
        let head = headers.map { "<th>\(HTML.escape($0))</th>" }.joined()
        let body = rows.enumerated().map { i, row in
            let key = i < ids.count ? " data-id=\"\(HTML.escape(ids[i]))\"" : ""
            return "<tr\(key)>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>"
        }.joined()
        guard let id else {
            guard !rows.isEmpty else { return "<p class=\"empty\">\(HTML.escape(empty))</p>" }
            return "<div class=\"scroll\"><table><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div>"
        }
        // Live tables are there even when empty: rows may come.
        return "<div class=\"scroll\"><table id=\"\(id)\"><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div>"
    }

    // MARK: Overview

    struct Filter {
        var cluster = ""
        var service = ""
        var status = ""
        /// Created within: "", "1h", "24h" or "7d".
        var since = ""

        static let periods: [(String, String, TimeInterval)] = [("1h", "the last hour", 3600), ("24h", "the last day", 86400),
                                                                ("7d", "the last week", 7 * 86400)]
        var isEmpty: Bool { cluster.isEmpty && service.isEmpty && status.isEmpty && since.isEmpty }
    }

    static func overview(deployments: [Deployment_V1_Deployment], releases: [Deployment_V1_Release], filter: Filter,
                         _ page: PageContext) -> String {
        let waiting = deployments.filter { $0.status == .pendingApproval }
        let waitingReleases = releases.filter { $0.status == .pendingApproval }
        var body = "<h1>Deployments</h1>"
        // Always there (hidden when empty): the live overview adds and removes its items.
        body += "<section class=\"approvals\" id=\"approvals\"\(waiting.isEmpty && waitingReleases.isEmpty ? " hidden" : "")>"
            + "<h2>Waiting for approval</h2><ul>"
        for d in waiting {
            body += "<li data-id=\"\(HTML.escape(d.deploymentID))\"><a href=\"\(page.link("/deployments/" + HTML.component(d.deploymentID)))\">"
                + "\(HTML.escape(d.deploymentID))</a> \(HTML.escape(d.cluster))/\(HTML.escape(d.service)) (\(HTML.escape(d.strategy)))</li>"
        }
        for r in waitingReleases {
            body += "<li data-id=\"\(HTML.escape(r.releaseID))\">release <a href=\"\(page.link("/releases/" + HTML.component(r.releaseID)))\">"
                + "\(HTML.escape(r.releaseID))</a> \(HTML.escape(r.name)): \(r.entries.count) entries</li>"
        }
        body += "</ul></section>"
        let statuses = DeploymentStatus.allCases.map(\.rawValue)
        body += "<form method=\"get\" action=\"\(page.link("/"))\" class=\"filter\">"
            + "<label>Cluster <input name=\"cluster\" value=\"\(HTML.escape(filter.cluster))\"></label>"
            + "<label>Service <input name=\"service\" value=\"\(HTML.escape(filter.service))\"></label>"
            + "<label>Status <select name=\"status\"><option value=\"\">any</option>"
            + statuses.map { "<option\($0 == filter.status ? " selected" : "")>\($0)</option>" }.joined()
            + "</select></label><label>Created <select name=\"since\"><option value=\"\">any time</option>"
            + Filter.periods.map { "<option value=\"\($0.0)\"\($0.0 == filter.since ? " selected" : "")>\($0.1)</option>" }.joined()
            + "</select></label><button>Filter</button></form>"
        body += table(["ID", "Service", "Strategy", "Status", "Progress", "Updated"], deployments.map { d in
            ["<a href=\"\(page.link("/deployments/" + HTML.component(d.deploymentID)))\">\(HTML.escape(d.deploymentID))</a>",
             "\(HTML.escape(d.cluster))/\(HTML.escape(d.service))", HTML.escape(d.strategy), badge(d.status.name),
             "\(d.progressPercent)%", time(d.updatedAt)]
        }, empty: "No deployments.", id: "deployments", ids: deployments.map(\.deploymentID))
        body += "<h2>Releases</h2>"
        body += table(["ID", "Name", "Status", "Done", "Updated"], releases.map { r in
            let done = r.entries.filter { ["SUCCEEDED", "SKIPPED"].contains($0.status) }.count
            return ["<a href=\"\(page.link("/releases/" + HTML.component(r.releaseID)))\">\(HTML.escape(r.releaseID))</a>",
                    HTML.escape(r.name), badge(r.status.name), "\(done)/\(r.entries.count)", time(r.updatedAt)]
        }, empty: "No releases.", id: "releases", ids: releases.map(\.releaseID))
        // Live unless filtered (a filtered list would take rows that do not match).
        if filter.isEmpty {
            body += "<div id=\"overview\" data-events=\"\(page.link("/events"))\" data-prefix=\"\(HTML.escape(page.prefix))\" hidden></div>"
        }
        return layout("Deployments", page, body)
    }

    // MARK: A deployment

    /// What the principal may do to the record shown.
    struct Actions {
        var approve = false
        var rollback = false
    }

    static func deployment(_ d: Deployment_V1_Deployment, events: [Deployment_V1_DeploymentEvent], actions: Actions,
                           _ page: PageContext) -> String {
        let id = HTML.component(d.deploymentID)
        var body = "<h1>Deployment \(HTML.escape(d.deploymentID))</h1>"
        body += "<dl class=\"facts\">"
        let facts: [(String, String)] = [
            ("Service", serviceLink(cluster: d.cluster, service: d.service, page)),
            ("Strategy", HTML.escape(d.strategy)),
            ("Status", badge(d.status.name, id: "status")),
            ("Progress", "<progress id=\"progress\" max=\"100\" value=\"\(d.progressPercent)\">\(d.progressPercent)%</progress> "
                + "<span id=\"progress-text\">\(d.progressPercent)%</span>"),
            ("Stage", "<span id=\"stage\">\(HTML.escape(d.currentStage.isEmpty ? "-" : d.currentStage))</span>"),
            ("Tasks and targets", "<span id=\"health\">\(HTML.escape(health(events) ?? "-"))</span>"),
            ("Requested by", HTML.escape(d.requestedBy)),
            ("Created", time(d.createdAt)),
            ("Task definition", HTML.escape(d.taskDefinitionArn.isEmpty ? "-" : d.taskDefinitionArn)),
            ("Previous", HTML.escape(d.previousTaskDefinitionArn.isEmpty ? "-" : d.previousTaskDefinitionArn)),
        ] + (d.hasApproval ? [("Approval", HTML.escape("\(d.approval.decision) by \(d.approval.approver)"
            + (d.approval.reason.isEmpty ? "" : ": \(d.approval.reason)")))] : [])
            + (d.hasCost ? [("Cost", HTML.escape(d.cost.summary))] : [])
            + [("Error", "<span id=\"error\">\(HTML.escape(d.error))</span>")]
        for (label, value) in facts { body += "<dt>\(HTML.escape(label))</dt><dd>\(value)</dd>" }
        body += "</dl>"
        body += actionForms(path: "/deployments/\(id)", status: d.status.name, actions: actions, page)
        body += trafficChart(d.stages)
        let measured = events.filter { $0.type == "analysis.measured" || $0.type == "analysis.failed" || $0.type == "analysis.paused" }
        if !measured.isEmpty {
            body += "<h2>Analysis</h2><ol class=\"events\" id=\"analysis\">" + measured.map(eventItem).joined() + "</ol>"
        }
        body += "<h2>Stages</h2><ol class=\"stages\" id=\"stages\">"
        for s in d.stages + d.rollbackStages {
            let state = stageStatus(s.status)
            body += "<li data-stage=\"\(HTML.escape(s.name))\" class=\"st-\(state.lowercased())\"><span class=\"state\">\(state)</span> "
                + "<span class=\"name\">\(HTML.escape(s.name))</span> <span class=\"when\">\(s.hasStartedAt ? time(s.startedAt) : "")</span>"
                + "<span class=\"msg\">\(HTML.escape(s.message))</span></li>"
        }
        body += "</ol>"
        let last = events.last?.sequence ?? 0
        body += "<h2>Events</h2><ol class=\"events\" id=\"events\" data-events=\"\(page.link("/deployments/\(id)/events?after=\(last)"))\">"
        for e in events { body += eventItem(e) }
        body += "</ol>"
        return layout("Deployment \(d.deploymentID)", page, body)
    }

    /// The stages that watch tasks and targets become healthy.
    static func watchesHealth(_ stage: String) -> Bool {
        stage.hasPrefix("waitTaskSetHealthy") || stage.hasPrefix("waitForStability")
    }

    /// The engine's last word on the tasks and targets: the newest message of a stage that
    /// waits for them ("3/3 tasks running, 3 healthy targets, STEADY_STATE").
    static func health(_ events: [Deployment_V1_DeploymentEvent]) -> String? {
        events.last { watchesHealth($0.stage) && !$0.message.isEmpty }?.message
    }

    static func eventItem(_ e: Deployment_V1_DeploymentEvent) -> String {
        "<li><time>\(time(e.at))</time> <span class=\"type\">\(HTML.escape(e.type))</span>"
            + (e.stage.isEmpty ? "" : " <span class=\"stage\">\(HTML.escape(e.stage))</span>")
            + (e.message.isEmpty ? "" : " <span class=\"msg\">\(HTML.escape(e.message))</span>") + "</li>"
    }

    static func stageStatus(_ s: Deployment_V1_StageStatus) -> String {
        switch s {
        case .stageRunning: "RUNNING"
        case .stageSucceeded: "SUCCEEDED"
        case .stageFailed: "FAILED"
        case .stageSkipped: "SKIPPED"
        default: "PENDING"
        }
    }

    /// The share of traffic on the new revision at each `routeTraffic` that ran: a step line.
    static func trafficChart(_ stages: [Deployment_V1_Stage]) -> String {
        let points = stages.compactMap { s -> (Date, Int)? in
            guard s.status == .stageSucceeded, s.name.hasPrefix("routeTraffic("), s.hasFinishedAt,
                  let percent = Int(s.name.dropFirst("routeTraffic(".count).prefix { $0.isNumber }) else { return nil }
            return (s.finishedAt.date, percent)
        }
        guard let first = points.first?.0 else { return "" }
        let span = max(1, (points.last?.0 ?? first).timeIntervalSince(first))
        // y = 100 - percent: across at the level held, then up or down to the new one.
        var level = 100
        var path = "M0,100"
        for (at, percent) in points {
            let x = Int(at.timeIntervalSince(first) / span * 300)
            path += " L\(x),\(level) L\(x),\(100 - percent)"
            level = 100 - percent
        }
        path += " L300,\(level)"
        return "<h2>Traffic to the new revision</h2><svg class=\"traffic\" viewBox=\"0 -5 300 110\" role=\"img\" "
            + "aria-label=\"traffic to the new revision over time\"><path d=\"\(path)\"/></svg>"
    }

    /// Approve / reject and roll back, each behind a confirmation (a box to tick) and the form's token.
    static func actionForms(path: String, status: String, actions: Actions, _ page: PageContext) -> String {
        var out = ""
        func form(_ action: String, _ label: String, reasonRequired: Bool = false) -> String {
            "<form method=\"post\" action=\"\(page.link(path + "/" + action))\" class=\"action\">"
                + "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(page.csrf))\">"
                + "<label>Reason <input name=\"reason\"\(reasonRequired ? " required" : "")></label>"
                + "<label class=\"confirm\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> I confirm</label>"
                + "<button name=\"do\" value=\"\(action)\" id=\"\(action)\">\(HTML.escape(label))</button></form>"
        }
        if actions.approve, status == "PENDING_APPROVAL" {
            out += form("approve", "Approve") + form("reject", "Reject")
        }
        if actions.rollback, ["PENDING", "IN_PROGRESS", "WAITING_WINDOW", "SUCCEEDED", "FAILED"].contains(status) {
            out += form("rollback", "Roll back")
        }
        return out.isEmpty ? "" : "<section class=\"actions\"><h2>Actions</h2>\(out)</section>"
    }

    // MARK: A release

    static func release(_ r: Deployment_V1_Release, events: [Deployment_V1_ReleaseEvent], actions: Actions, _ page: PageContext) -> String {
        var body = "<h1>Release \(HTML.escape(r.releaseID))</h1><dl class=\"facts\">"
        let facts: [(String, String)] = [
            ("Name", HTML.escape(r.name)), ("Status", badge(r.status.name, id: "status")),
            ("On failure", HTML.escape(r.onFailure)), ("Requested by", HTML.escape(r.requestedBy)), ("Created", time(r.createdAt)),
        ] + (r.commit.isEmpty ? [] : [("Commit", HTML.escape("\(r.commit) by \(r.author): \(r.commitMessage)"))])
            + (r.hasStartAt ? [("Starts at", time(r.startAt))] : [])
            + (r.hasApproval ? [("Approval", HTML.escape("\(r.approval.decision) by \(r.approval.approver)"))] : [])
            + (r.hasCost ? [("Cost", HTML.escape(r.cost.summary))] : [])
            + (r.error.isEmpty ? [] : [("Error", HTML.escape(r.error))])
        for (label, value) in facts { body += "<dt>\(HTML.escape(label))</dt><dd>\(value)</dd>" }
        body += "</dl>"
        body += actionForms(path: "/releases/\(HTML.component(r.releaseID))", status: r.status.name, actions: actions, page)
        body += "<h2>Plan</h2>"
        body += table(["Entry", "Target", "From", "To", "Wave", "Status", "Deployment"], r.entries.map { e in
            let target = e.kind == "scheduled_task" ? "rule \(e.rule)" : "\(e.cluster)/\(e.service) (\(e.strategy))"
            let deployment = e.deploymentID.isEmpty ? "" :
                "<a href=\"\(page.link("/deployments/" + HTML.component(e.deploymentID)))\">\(HTML.escape(e.deploymentID))</a>"
            return [HTML.escape(e.label), HTML.escape(target), HTML.escape(e.oldImages.joined(separator: ", ")), HTML.escape(e.newImage),
                    "\(e.wave)", "<span data-entry=\"\(HTML.escape(e.label))\">\(badge(e.status))</span>"
                        + (e.error.isEmpty ? "" : " <span class=\"msg\">\(HTML.escape(e.error))</span>"), deployment]
        }, empty: "No entries.")
        let last = events.last?.sequence ?? 0
        body += "<h2>Events</h2><ol class=\"events\" id=\"events\" "
            + "data-events=\"\(page.link("/releases/\(HTML.component(r.releaseID))/events?after=\(last)"))\">"
        for e in events {
            body += "<li><time>\(time(e.at))</time> <span class=\"type\">\(HTML.escape(e.type))</span>"
                + (e.entry.isEmpty ? "" : " <span class=\"stage\">\(HTML.escape(e.entry))</span>")
                + (e.message.isEmpty ? "" : " <span class=\"msg\">\(HTML.escape(e.message))</span>") + "</li>"
        }
        body += "</ol>"
        return layout("Release \(r.releaseID)", page, body)
    }

    static func serviceLink(cluster: String, service: String, _ page: PageContext) -> String {
        "<a href=\"\(page.link("/services/\(HTML.component(cluster))/\(HTML.component(service))"))\">"
            + "\(HTML.escape(cluster))/\(HTML.escape(service))</a>"
    }

    // MARK: A service

    static func service(cluster: String, service: String, history: [Deployment_V1_Deployment], drift: Deployment_V1_DriftReport?,
                        _ page: PageContext) -> String {
        var body = "<h1>Service \(HTML.escape(cluster))/\(HTML.escape(service))</h1>"
        body += "<form method=\"get\" class=\"filter\"><input type=\"hidden\" name=\"drift\" value=\"1\">"
            + "<button id=\"drift\">Check drift now</button></form>"
        if let drift {
            if drift.baselineDeploymentID.isEmpty {
                body += "<p class=\"notice\" id=\"drift-report\">No successful deployment is recorded: nothing to compare.</p>"
            } else if !drift.drifted {
                body += "<p class=\"notice\" id=\"drift-report\">No drift since deployment \(HTML.escape(drift.baselineDeploymentID)).</p>"
            } else {
                body += "<div class=\"notice\" id=\"drift-report\"><p>Drift against deployment \(HTML.escape(drift.baselineDeploymentID)):</p><ul>"
                    + drift.items.map { "<li>\(HTML.escape($0.field)): expected \(HTML.escape($0.expected)), found \(HTML.escape($0.actual))</li>" }.joined()
                    + "</ul></div>"
            }
        }
        body += "<h2>History</h2>"
        body += table(["ID", "Strategy", "Status", "Task definition", "Requested by", "Created"], history.map { d in
            ["<a href=\"\(page.link("/deployments/" + HTML.component(d.deploymentID)))\">\(HTML.escape(d.deploymentID))</a>",
             HTML.escape(d.strategy), badge(d.status.name), HTML.escape(d.taskDefinitionArn), HTML.escape(d.requestedBy), time(d.createdAt)]
        }, empty: "No deployments of this service.")
        return layout("Service \(cluster)/\(service)", page, body)
    }

    // MARK: The audit log

    struct AuditFilter {
        var type = ""
        var user = ""
        var service = ""
    }

    static func audit(_ entries: [AuditEntry], filter: AuditFilter, verification: String?, _ page: PageContext) -> String {
        var body = "<h1>Audit log</h1>"
        body += "<form method=\"get\" class=\"filter\">"
            + "<label>Event <input name=\"type\" value=\"\(HTML.escape(filter.type))\" placeholder=\"approval.approved\"></label>"
            + "<label>User <input name=\"user\" value=\"\(HTML.escape(filter.user))\"></label>"
            + "<label>Service <input name=\"service\" value=\"\(HTML.escape(filter.service))\"></label>"
            + "<label class=\"confirm\"><input type=\"checkbox\" name=\"verify\" value=\"1\"> verify the chain</label>"
            + "<button>Show</button></form>"
        if let verification { body += "<p class=\"notice\" id=\"verification\">\(HTML.escape(verification))</p>" }
        body += table(["Seq", "Time", "Event", "User", "Service", "Deployment", "Detail"], entries.map { e in
            let detail = e.metadata["message"] ?? e.metadata["reason"] ?? e.metadata["detail"] ?? ""
            let target = e.cluster.isEmpty ? "" : "\(e.cluster)/\(e.service)"
            return ["\(e.seq)", HTML.escape(e.timestamp), HTML.escape(e.eventType), HTML.escape(e.user), HTML.escape(target),
                    HTML.escape(e.deploymentID), HTML.escape(detail)]
        }, empty: "No entries.")
        return layout("Audit log", page, body)
    }

    // MARK: Signing in

    static func login(_ page: PageContext, failed: Bool, issuer: String? = nil) -> String {
        let oidc = issuer.map { "<p><a id=\"oidc\" href=\"\(page.link("/login/oidc"))\">Sign in with \(HTML.escape($0))</a></p>" } ?? ""
        return layout("Sign in", page, """
            <h1>Sign in</h1>\(failed ? "<p class=\"notice\">That token was not accepted.</p>" : "")\(oidc)
            <form method="post" action="\(page.link("/login"))" class="login">
            <label>API token <input type="password" name="token" autocomplete="off" required></label>
            <button>Sign in</button></form>
            """)
    }

    static func message(_ title: String, _ text: String, _ page: PageContext) -> String {
        layout(title, page, "<h1>\(HTML.escape(title))</h1><p>\(HTML.escape(text))</p><p><a href=\"\(page.link("/"))\">Back</a></p>")
    }
}
