import Access
import CloudModel
import DeployAPI
import Foundation
@testable import Server
import Simulator
import Testing

/// The web dashboard on the real HTTP port of the real server in mock mode: its pages and
/// their security over HTTP, and real headless Chromium (WebDriver) following a canary live
/// and approving a deployment with a click.
@Suite struct DashboardTests {
    /// A server with an admin's and a viewer's API tokens, and an audit log.
    struct Setup {
        let t: TestServer
        let admin: String
        let viewer: String
        let deployer: String
        let audit: String
    }

    static func setup() async throws -> Setup {
        let (path, tokens) = try AccessControlTests.tokens(["admin": ([.admin], [], nil), "viewer": ([.viewer], [], nil), "ci": ([.deployer], [], nil)])
        let audit = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).log").path
        let t = try await TestServer(configure: { $0.security.tokensFile = path }, simulator: AccessControlTests.autoCreate, auditPath: audit,
                                     apiToken: tokens["admin"])
        return Setup(t: t, admin: tokens["admin"]!, viewer: tokens["viewer"]!, deployer: tokens["ci"]!, audit: audit)
    }

    static func deploy(_ t: TestServer, _ id: String, service: String = "web", strategy: String = "quicksync", config: String = "{}",
                       token: String) async -> ClientResult {
        await t.client(["-token", token, "-id", id, "-cluster", "prod", "-service", service, "-taskdef", AccessControlTests.taskdef,
                        "-strategy", strategy, "-config", config])
    }

    /// Signs in over HTTP; answers the session cookie (`name=value`).
    static func signIn(_ t: TestServer, _ token: String) async throws -> String {
        let answer = try await HTTPGet.exchange(host: "127.0.0.1", port: t.httpPort, path: "/login", method: "POST",
                                                headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "token=\(token)")
        #expect(answer.status == 303)
        let cookie = try #require(answer.headers.first { $0.0 == "set-cookie" }?.1)
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "\(cookie)")
        return String(cookie.prefix { $0 != ";" })
    }

    static func csrf(in page: String) throws -> String {
        let marker = "name=\"csrf\" value=\""
        let start = try #require(page.range(of: marker)).upperBound
        return String(page[start...].prefix { $0 != "\"" })
    }

    @Test func pagesAreSafeAndActionsNeedARoleAndTheFormToken() async throws {
        let s = try await Self.setup()
        let t = s.t
        defer { try? FileManager.default.removeItem(atPath: s.audit) }
        // Strangers are sent to sign in; a wrong token is refused.
        let stranger = try await HTTPGet.exchange(host: "127.0.0.1", port: t.httpPort, path: "/")
        #expect(stranger.status == 303 && stranger.headers.contains { $0 == ("location", "/login") })
        let wrong = try await t.http("/login", method: "POST", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                     body: "token=ecsd_wrong")
        #expect(wrong.status == 401 && wrong.body.contains("That token was not accepted."))

        // A name ECS would refuse, seeded straight into the simulator: the page must not trust names.
        let evil = "<script>alert(1)</script>"
        let td = try t.sim.seedTaskDefinition(family: "evil", image: "nginx:1.0")
        try t.sim.createService(cluster: "prod", name: evil, taskDefinition: td.arn!)
        let submitted = await Self.deploy(t, "x1", service: evil, config: #"{"require_approval":"true"}"#, token: s.admin)
        #expect(submitted.code == 0, "\(submitted.text)")
        let viewer = try await Self.signIn(t, s.viewer)
        let page = try await HTTPGet.exchange(host: "127.0.0.1", port: t.httpPort, path: "/deployments/x1", headers: ["Cookie": viewer])
        #expect(page.status == 200)
        let csp = page.headers.first { $0.0 == "content-security-policy" }?.1 ?? ""
        #expect(csp.contains("script-src 'self'") && csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"))
        #expect(!page.body.contains(evil) && page.body.contains("prod/&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(page.body.components(separatedBy: "<script").count == 2, "one script tag: the file's")
        // A viewer sees no action, and its own token does not let it approve.
        #expect(!page.body.contains("id=\"approve\"") && !page.body.contains("id=\"rollback\""))
        let viewerToken = try Self.csrf(in: page.body)
        let denied = try await t.http("/deployments/x1/approve", method: "POST",
                                      headers: ["Cookie": viewer, "Content-Type": "application/x-www-form-urlencoded"],
                                      body: "csrf=\(viewerToken)&confirm=yes&reason=mine")
        #expect(denied.status == 403 && denied.body.contains("PERMISSION_DENIED") == false && denied.body.contains("approve"), "\(denied.body)")

        // An admin's page has the buttons; a POST without the form's token (another site's) is refused.
        let admin = try await Self.signIn(t, s.admin)
        let adminPage = try await t.http("/deployments/x1", headers: ["Cookie": admin])
        #expect(adminPage.body.contains("id=\"approve\"") && adminPage.body.contains("id=\"reject\""))
        let forged = try await t.http("/deployments/x1/approve", method: "POST",
                                      headers: ["Cookie": admin, "Content-Type": "application/x-www-form-urlencoded"],
                                      body: "confirm=yes&reason=forged")
        #expect(forged.status == 403, "\(forged.body)")
        let crossed = try await t.http("/deployments/x1/approve", method: "POST",
                                       headers: ["Cookie": admin, "Content-Type": "application/x-www-form-urlencoded"],
                                       body: "csrf=\(viewerToken)&confirm=yes")
        #expect(crossed.status == 403)
        let unconfirmed = try await t.http("/deployments/x1/approve", method: "POST",
                                           headers: ["Cookie": admin, "Content-Type": "application/x-www-form-urlencoded"],
                                           body: "csrf=\(try Self.csrf(in: adminPage.body))&reason=quick")
        #expect(unconfirmed.status == 400)
        #expect(try await t.status("x1").status == .pendingApproval)
        // Nobody approves their own change, through the dashboard too.
        let own = try await t.http("/deployments/x1/approve", method: "POST",
                                   headers: ["Cookie": admin, "Content-Type": "application/x-www-form-urlencoded"],
                                   body: "csrf=\(try Self.csrf(in: adminPage.body))&reason=quick&confirm=yes")
        #expect(own.status == 403 && own.body.contains("token:admin requested deployment x1 and cannot approve it"), "\(own.body)")
        // Signed in, the overview lists it under the approvals waiting, escaped.
        let overview = try await t.http("/", headers: ["Cookie": admin])
        #expect(overview.status == 200 && overview.body.contains("<li data-id=\"x1\">") && overview.body.contains("&lt;script&gt;"))
        // Filtered by time (and then not live): created within the last hour.
        let recent = try await t.http("/?since=1h", headers: ["Cookie": admin])
        #expect(recent.body.contains("href=\"/deployments/x1\"") && !recent.body.contains("id=\"overview\""))
        let js = try await HTTPGet.exchange(host: "127.0.0.1", port: t.httpPort, path: "/static/dashboard.js")
        #expect(js.status == 200 && js.headers.contains { $0.0 == "content-type" && $0.1.hasPrefix("text/javascript") })
        #expect(!js.body.contains("innerHTML"))
        #expect(try await t.http("/deployments/nope", headers: ["Cookie": admin]).status == 404)

        // A service's history, with a drift check on demand.
        #expect(await Self.deploy(t, "w1", token: s.deployer).code == 0)
        _ = try await t.waitUntilFinished("w1")
        let service = try await t.http("/services/prod/web?drift=1", headers: ["Cookie": viewer])
        #expect(service.status == 200 && service.body.contains("href=\"/deployments/w1\"") && service.body.contains("No drift since deployment w1"),
                "\(service.body)")
        // The audit log, filtered, its chain verified.
        let log = try await t.http("/audit?type=approval&verify=1", headers: ["Cookie": admin])
        #expect(log.status == 200 && log.body.contains("approval.requested") && !log.body.contains("deployment.succeeded"), "\(log.body)")
        #expect(log.body.contains("lines, chain intact"), "\(log.body)")
        // Two hours later x1 is no longer of the last hour, still of the last day.
        t.clock.advance(by: .seconds(2 * 3600))
        #expect(!(try await t.http("/?since=1h", headers: ["Cookie": admin]).body.contains("href=\"/deployments/x1\"")))
        #expect(try await t.http("/?since=24h", headers: ["Cookie": admin]).body.contains("href=\"/deployments/x1\""))
        try await t.stop()
    }

    @Test func aPathPrefixAndAnonymousMockMode() async throws {
        let t = try await TestServer(configure: { try! $0.apply(yaml: "dashboard: {path_prefix: /ops}", source: "config.yaml") },
                                     simulator: SeedCommandsTests.mockMode)
        let page = try await HTTPGet.exchange(host: "127.0.0.1", port: t.httpPort, path: "/ops/")
        #expect(page.status == 200 && page.body.contains("href=\"/ops/static/dashboard.css\""))
        #expect(page.body.contains("id=\"approvals\" hidden"), "nothing waits for approval")
        let cookie = try #require(page.headers.first { $0.0 == "set-cookie" }?.1)
        #expect(cookie.contains("Path=/ops") && cookie.contains("HttpOnly"))
        #expect(try await t.http("/").status == 404)
        var off = ServerConfig()
        try off.apply(yaml: "dashboard: {enabled: false}", source: "config.yaml")
        #expect(!off.dashboardEnabled)
        #expect(throws: ConfigError.self) { try off.apply(yaml: "dashboard: {path_prefix: \"ops<x>\"}", source: "config.yaml") }
        do {
            try off.apply(yaml: "dashboard: {oidc: {client_id: d, client_secret_file: /s, url: \"http://deploy.example.com\"}}", source: "config.yaml")
            Issue.record("accepted a plain-HTTP public URL")
        } catch {
            #expect("\(error)".hasPrefix("config.yaml: dashboard.oidc.url: is required: the dashboard's public https URL"), "\(error)")
        }
        var signOn = ServerConfig()
        try signOn.apply(yaml: "dashboard: {oidc: {client_id: d, client_secret_file: /s, url: \"https://deploy.example.com/ops/\"}}",
                         source: "config.yaml")
        #expect(signOn.dashboardOIDC?.redirectURI == "https://deploy.example.com/ops/login/oidc/callback")
        try await t.stop()
    }

    /// Real Chromium: the overview lists a running canary; its page turns SUCCEEDED live
    /// (the same element, never reloaded); a deployment waiting for approval is approved with a
    /// click, and the audit log names the admin.
    @Test func aBrowserFollowsACanaryAndApprovesWithAClick() async throws {
        let s = try await Self.setup()
        let t = s.t
        defer { try? FileManager.default.removeItem(atPath: s.audit) }
        let browser = try await WebDriver.start()
        do {
            let base = "http://127.0.0.1:\(t.httpPort)"
            #expect(await Self.deploy(t, "c1", strategy: "canary", config: #"{"canary_stages":"25,100","stage_timeout":"2m"}"#,
                                      token: s.admin).code == 0)
            try await browser.open(base + "/login")
            try await browser.type(try await browser.require("input[name=token]"), s.admin)
            try await browser.click(try await browser.require("form.login button"))
            try await browser.wait("the overview") { try await browser.element("a[href='/deployments/c1']") != nil }
            // The overview takes a new deployment's row live.
            let firstRow = try await browser.require("#deployments tbody tr")
            #expect(await Self.deploy(t, "o1", service: "cart", config: #"{"require_approval":"true"}"#, token: s.deployer).code == 0)
            try await browser.wait("o1's row on the overview") { try await browser.element("#deployments tr[data-id='o1']") != nil }
            let row = try await browser.text(try await browser.require("#deployments tr[data-id='o1']"))
            #expect(row.contains("prod/cart") && row.contains("PENDING_APPROVAL"), "\(row)")
            try await browser.wait("o1 among the approvals") { try await browser.element("#approvals li[data-id='o1']") != nil }
            #expect(try await browser.text(firstRow).contains("c1"), "the page was not reloaded")
            try await Self.screenshot(browser, "dashboard-overview.png")

            try await browser.open(base + "/deployments/c1")
            let status = try await browser.require("#status")
            let before = try await browser.text(status)
            #expect(["IN_PROGRESS", "PENDING"].contains(before), "\(before)")
            let done = try await t.driving {
                try await browser.wait("SUCCEEDED on the page") { try await browser.text(status) == "SUCCEEDED" }
                return try await t.status("c1")
            }
            #expect(done.status == .succeeded)
            // Updated in place: the element read before is still the page's.
            #expect(try await browser.text(status) == "SUCCEEDED")
            let events = try await browser.text(try await browser.require("#events"))
            #expect(events.contains("deployment.succeeded"), "\(events)")
            let health = try await browser.text(try await browser.require("#health"))
            #expect(health.contains("3/3 tasks running") && health.contains("healthy targets"), "\(health)")
            try await Self.screenshot(browser, "dashboard-deployment.png")
            // On a phone's width the page fits: nothing wider than the screen.
            try await browser.resize(width: 390, height: 844)
            let overflow = try await browser.run("return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
            #expect((overflow as? Int) == 0, "the page is \(overflow) pixels wider than a phone")
            try await browser.resize(width: 1280, height: 900)

            // A release's page follows its entries live too.
            let file = try ReleaseTests.write(ReleaseTests.manifest(services: [("shop", "repo/shop:2")]))
            defer { try? FileManager.default.removeItem(atPath: file) }
            #expect(await t.client(["-token", s.deployer, "-action", "release", "-file", file, "-id", "r1"]).code == 0)
            try await browser.open(base + "/releases/r1")
            let releaseStatus = try await browser.require("#status")
            let entry = try await browser.require("[data-entry='shop'] .status")
            let running = try await browser.text(releaseStatus)
            #expect(running != "SUCCEEDED", "the page was loaded before the release ran")
            _ = try await t.driving {
                try await browser.wait("the release SUCCEEDED on the page") {
                    let (whole, one) = (try await browser.text(releaseStatus), try await browser.text(entry))
                    return whole == "SUCCEEDED" && one == "SUCCEEDED"
                }
            }

            // Requested by CI, approved by the admin (nobody approves their own change).
            #expect(await Self.deploy(t, "a1", service: "api", config: #"{"require_approval":"true"}"#, token: s.deployer).code == 0)
            try await browser.open(base + "/deployments/a1")
            try await browser.type(try await browser.require("form.action input[name=reason]"), "looks good")
            try await browser.click(try await browser.require("form.action input[name=confirm]"))
            try await browser.click(try await browser.require("#approve"))
            try await browser.wait("the approval") { (try await browser.source()).contains("Approved.") }
            let approved = try await t.status("a1")
            #expect(approved.approval.decision == "approved" && approved.approval.approver == "token:admin", "\(approved.approval)")
        } catch {
            await browser.quit()
            throw error
        }
        await browser.quit()
        _ = try await t.waitUntilFinished("a1")
        try await t.stop()
        let log = try String(contentsOfFile: s.audit, encoding: .utf8)
        let approval = log.split(separator: "\n").first { $0.contains("\"event_type\":\"approval.approved\"") && $0.contains("\"a1\"") }
        #expect(approval?.contains("\"user\":\"token:admin\"") == true, "\(log)")
    }

    /// With `DASHBOARD_SCREENSHOTS=DIR`, the browser's screenshots for the README go there.
    static func screenshot(_ browser: WebDriver, _ name: String) async throws {
        let png = try await browser.screenshot()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG")
        if let dir = ProcessInfo.processInfo.environment["DASHBOARD_SCREENSHOTS"] {
            try png.write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
        }
    }
}


/// The deployment page's pieces that the end-to-end runs above do not reach.
@Suite struct DashboardPageTests {
    static func event(_ sequence: Int64, _ type: String, stage: String = "", message: String) -> Deployment_V1_DeploymentEvent {
        var e = Deployment_V1_DeploymentEvent()
        e.sequence = sequence
        e.type = type
        e.stage = stage
        e.message = message
        return e
    }

    @Test func analysisMeasurementsAndTheLastHealthAreShown() {
        var d = Deployment_V1_Deployment()
        d.deploymentID = "d1"
        let events = [
            Self.event(1, "stage.progress", stage: "waitTaskSetHealthy(new)", message: "1/3 tasks running, 0 healthy targets"),
            Self.event(2, "analysis.measured", stage: "bake(2m, canary at 25%)", message: "error-rate: 0.4 <= 1 (pass) <b>"),
            Self.event(3, "stage.succeeded", stage: "waitTaskSetHealthy(new)", message: "3/3 tasks running, 3 healthy targets"),
        ]
        let page = DashboardPages.deployment(d, events: events, actions: .init(),
                                             PageContext(prefix: "", who: "anonymous", signedIn: false, csrf: "t", notice: nil))
        #expect(page.contains("<span id=\"health\">3/3 tasks running, 3 healthy targets</span>"))
        #expect(page.contains("<h2>Analysis</h2><ol class=\"events\" id=\"analysis\">") && page.contains("error-rate: 0.4 &lt;= 1 (pass) &lt;b&gt;"))
        let quiet = DashboardPages.deployment(d, events: [], actions: .init(),
                                              PageContext(prefix: "", who: "anonymous", signedIn: false, csrf: "t", notice: nil))
        #expect(!quiet.contains("id=\"analysis\"") && quiet.contains("<span id=\"health\">-</span>"))
    }
}
