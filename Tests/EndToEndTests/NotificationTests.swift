import CloudModel
import Crypto
import DeployAPI
import Engine
import Foundation
import Notify
@testable import Server
import Simulator
import Store
import Testing

/// Notifications through the real server: a deployment run from the client is told of to
/// loopback receivers (Slack, Teams, a signed webhook), with retries, and never waits for them.
@Suite struct NotificationTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#

    func deploy(_ t: TestServer, _ id: String) async throws -> Deployment_V1_Deployment {
        let accepted = await t.client(["-id", id, "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy", "quicksync"])
        #expect(accepted.code == 0, "\(accepted.text)")
        return try await t.waitUntilFinished(id)
    }

    /// Waits (real time: delivery runs beside the deployments) until the stub holds `count`
    /// requests on paths starting with `prefix`.
    func received(_ stub: HookStub, _ prefix: String, count: Int) async throws -> [HookStub.Request] {
        for _ in 0..<1000 {
            let found = stub.received.filter { $0.path.hasPrefix(prefix) }
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("\(prefix): \(stub.received.filter { $0.path.hasPrefix(prefix) }.count) of \(count) requests arrived")
    }

    /// Waits (real time) until /metrics shows `line`; answers whether it did.
    func metricShows(_ t: TestServer, _ line: String) async throws -> Bool {
        for _ in 0..<500 {
            if try await t.http("/metrics").body.contains(line) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Each config.yaml text is refused with an error that contains its message and never
    /// shows a planted secret.
    static func expectRefused(_ cases: [(yaml: String, message: String)], sourceLocation: SourceLocation = #_sourceLocation) {
        for (yaml, message) in cases {
            var config = ServerConfig()
            do {
                try config.apply(yaml: yaml, source: "config.yaml")
                Issue.record("accepted: \(yaml)", sourceLocation: sourceLocation)
            } catch {
                let text = "\(error)"
                #expect(text.contains(message), "\(text)", sourceLocation: sourceLocation)
                #expect(!text.contains("planted-secret"), "\(text)", sourceLocation: sourceLocation)
            }
        }
    }

    static func route(_ name: String, _ sink: NotificationSink, _ events: Set<NotificationEvent>) -> NotificationRoute {
        NotificationRoute(name: name, sink: sink, events: events)
    }

    @Test func slackTeamsAndASignedWebhookHearOfADeployment() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let secret = "planted-signing-secret"
        let t = try await TestServer(configure: {
            $0.notifications.routes = [
                Self.route("hook", .webhook(url: stub.url("/ok/hook"), secret: secret), [.started, .succeeded]),
                Self.route("slack", .slack(url: stub.url("/ok/slack")), [.succeeded]),
                Self.route("teams", .teams(url: stub.url("/ok/teams")), [.succeeded]),
                // Another service only: never told of this one.
                NotificationRoute(name: "api-only", sink: .webhook(url: stub.url("/ok/api"), secret: nil), service: "api-*"),
            ]
        }, simulator: HookRunnerTests.mockMode)
        let d = try await deploy(t, "n1")
        #expect(d.status == .succeeded, "\(d.error)")

        let hook = try await received(stub, "/ok/hook", count: 2)
        let bodies = try hook.map { try JSONDecoder().decode([String: JSONValue].self, from: $0.body) }
        #expect(bodies.map { $0["event"]?.stringValue } == ["started", "succeeded"])
        #expect(bodies.last?["id"]?.stringValue == "n1")
        #expect(bodies.last?["status"]?.stringValue == "SUCCEEDED")
        #expect(bodies.last?["key"]?.stringValue?.hasPrefix("deployment/n1/") == true)
        #expect(bodies.last?["change"]?.stringValue?.contains("app=nginx:2.0") == true, "\(bodies)")
        for request in hook {
            let expected = "sha256=" + HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Array(secret.utf8)))
                .map { String(format: "%02x", $0) }.joined()
            #expect(request.headers["x-ecs-deploy-signature"] == expected)
        }

        let slack = try await received(stub, "/ok/slack", count: 1)
        let message = try JSONDecoder().decode([String: JSONValue].self, from: slack[0].body)
        #expect(message["text"]?.stringValue == "deployment n1: prod/web (quicksync) succeeded")
        let blocks = message["blocks"]?.arrayValue ?? []
        #expect(blocks.first?["type"]?.stringValue == "header")
        let fields = blocks.dropFirst().flatMap { $0["fields"]?.arrayValue ?? [] }.compactMap { $0["text"]?.stringValue }
        #expect(fields.contains { $0.hasPrefix("*Status*\nSUCCEEDED") }, "\(fields)")
        #expect(fields.contains { $0.hasPrefix("*Duration*") }, "\(fields)")

        let teams = try await received(stub, "/ok/teams", count: 1)
        let card = try JSONDecoder().decode([String: JSONValue].self, from: teams[0].body)
        let attachment = card["attachments"]?.arrayValue?.first
        #expect(attachment?["contentType"]?.stringValue == "application/vnd.microsoft.card.adaptive")
        #expect(attachment?["content"]?["type"]?.stringValue == "AdaptiveCard")

        #expect(stub.received.allSatisfy { !$0.path.hasPrefix("/ok/api") }, "a route for other services was told")
        #expect(try await metricShows(t, #"ecs_notifications_total{sink="webhook",result="delivered"} 2"#))
        #expect(try await metricShows(t, #"ecs_notifications_total{sink="slack",result="delivered"} 1"#))
        #expect(try await metricShows(t, #"ecs_notifications_total{sink="teams",result="delivered"} 1"#))
        let metrics = try await t.http("/metrics").body
        #expect(!metrics.contains(secret) && !metrics.contains("/ok/hook"))
        try await t.stop()
    }

    /// A release is told of once per moment, not once per service; the approval request
    /// carries the command that approves it.
    @Test func aReleaseIsToldOfAsOneWithItsApprovalCommand() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let t = try await TestServer(configure: {
            $0.notifications.routes = [Self.route("releases", .webhook(url: stub.url("/ok/rel"), secret: nil), [])]
        })
        _ = try ReleaseTests.seed(t, ["web", "api"])
        let file = try ReleaseTests.write(ReleaseTests.manifest("approval: required", services: [("web", "repo/web:2"), ("api", "repo/api:2")]))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let asked = await t.client(["-action", "release", "-file", file, "-id", "r9"])
        #expect(asked.code == 0, "\(asked.text)")
        let approved = await t.client(["-action", "approve", "-id", "r9", "-approver", "alice"])
        #expect(approved.code == 0, "\(approved.text)")
        let done = try await t.driving {
            while try await ![.succeeded, .failed, .rolledBack, .rejected, .interrupted].contains(ReleaseTests.release(t, "r9").status) {
                try await Task.sleep(for: .milliseconds(1))
            }
            return try await ReleaseTests.release(t, "r9")
        }
        #expect(done.status == .succeeded, "\(done.error)")
        let messages = try await received(stub, "/ok/rel", count: 4)
            .map { try JSONDecoder().decode([String: JSONValue].self, from: $0.body) }
        #expect(messages.map { $0["event"]?.stringValue ?? "" } == ["approval_requested", "approved", "started", "succeeded"])
        #expect(messages.allSatisfy { $0["kind"]?.stringValue == "release" && $0["id"]?.stringValue == "r9" })
        #expect(messages[0]["approve_command"]?.stringValue == "grpc-client -action approve -id r9")
        #expect(messages[3]["change"]?.stringValue == "2 SUCCEEDED", "\(messages[3])")
        try await t.stop()
    }

    /// An SNS route in mock mode: the simulator's topic receives the notice (subject: the
    /// headline; message: the JSON), through the AWS call layers (counted as an API call).
    @Test func anSNSTopicGetsTheNotice() async throws {
        let topic = "arn:aws:sns:us-east-1:123456789012:deploys"
        let t = try await TestServer(configure: {
            $0.notifications.routes = [Self.route("topic", .sns(topicArn: topic), [.succeeded])]
        }, simulator: HookRunnerTests.mockMode)
        #expect(try await deploy(t, "s1").status == .succeeded)
        #expect(try await metricShows(t, #"ecs_notifications_total{sink="sns",result="delivered"} 1"#))
        let published = t.sim.published(topicArn: topic)
        #expect(published.map(\.subject) == ["deployment s1: prod/web (quicksync) succeeded"])
        let body = try JSONDecoder().decode([String: JSONValue].self, from: Data((published.first?.message ?? "").utf8))
        #expect(body["event"]?.stringValue == "succeeded" && body["id"]?.stringValue == "s1")
        #expect(try await t.http("/metrics").body.contains(#"ecs_aws_api_calls_total{service="sns",operation="Publish"} 1"#))
        try await t.stop()
    }

    /// A drift check that finds drift is told of; one that finds none is not.
    @Test func driftFoundIsToldOf() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let t = try await TestServer(configure: {
            $0.notifications.routes = [Self.route("drift", .webhook(url: stub.url("/ok/drift"), secret: nil), [.driftFound])]
        })
        try t.seedService(name: "web")
        #expect(try await deploy(t, "d1").status == .succeeded)
        #expect(await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"]).code == 0)
        let manual = try t.sim.registerTaskDefinition(TaskDefinition(json: try JSONValue.parse(
            #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:hotfix"}]}"#)))
        _ = try t.sim.updateService(UpdateServiceInput(cluster: "prod", service: "web", taskDefinition: manual.arn))
        #expect(await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"]).code == 1)
        let told = try await received(stub, "/ok/drift", count: 1)
        let body = try JSONDecoder().decode([String: JSONValue].self, from: told[0].body)
        #expect(body["event"]?.stringValue == "drift_found")
        #expect(body["title"]?.stringValue == "service prod/web")
        #expect(body["change"]?.stringValue?.contains("containerDefinitions[app].image: expected nginx:2.0, found nginx:hotfix") == true, "\(body)")
        #expect(stub.received.filter { $0.path == "/ok/drift" }.count == 1, "the clean check was not told of")
        try await t.stop()
    }

    @Test func aReceiverThatFailsTwiceGetsTheMessageOnTheThirdTry() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let t = try await TestServer(configure: {
            $0.notifications.settings.retryDelay = .milliseconds(10)
            $0.notifications.routes = [Self.route("flaky", .webhook(url: stub.url("/flaky"), secret: nil), [.succeeded])]
        }, simulator: HookRunnerTests.mockMode)
        #expect(try await deploy(t, "n2").status == .succeeded)
        let tries = try await received(stub, "/flaky", count: 3)
        #expect(tries.count == 3)
        #expect(Set(tries.map(\.body)).count == 1, "every try carries the same message")
        #expect(try await metricShows(t, #"ecs_notifications_total{sink="webhook",result="delivered"} 1"#))
        try await t.stop()
    }

    /// The receiver takes the request and never answers: the deployment goes on and ends all
    /// the same; the shutdown gives the message up after its drain time.
    @Test func aReceiverThatNeverAnswersDoesNotHoldUpTheDeployment() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let t = try await TestServer(configure: {
            $0.gracefulTimeout = .milliseconds(200)
            $0.notifications.settings.timeout = .seconds(600)
            $0.notifications.routes = [Self.route("silent", .webhook(url: stub.url("/hang"), secret: nil), [.started, .succeeded])]
        }, simulator: HookRunnerTests.mockMode)
        #expect(try await deploy(t, "n3").status == .succeeded)
        _ = try await received(stub, "/hang", count: 1)
        #expect(try await t.status("n3").status == .succeeded)
        try await t.stop()
        // Both notices were given up at the shutdown (the first one in flight, the second queued).
        let metrics = t.server.metrics.render()
        #expect(metrics.contains(#"ecs_notifications_total{sink="webhook",result="failed"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"ecs_notifications_total{sink="webhook",result="dropped"} 1"#), "\(metrics)")
    }

    /// A notice being sent when the server stops, and one still queued, are kept in the SQLite
    /// file and sent at the next start, once each; a notice sent is not sent again after that.
    @Test func noticesLeftAtTheShutdownAreSentOnceAfterTheRestart() async throws {
        let stub = try HookStub.start()
        defer { stub.stop() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("deployments.sqlite").path
        func configure(_ url: String) -> (inout ServerConfig) -> Void {
            { c in
                c.gracefulTimeout = .milliseconds(200)
                c.notifications.settings.timeout = .seconds(600)
                c.notifications.routes = [Self.route("ops", .webhook(url: stub.url(url), secret: nil), [.started, .succeeded])]
            }
        }
        let first = try await TestServer(configure: configure("/hang/ops"), simulator: HookRunnerTests.mockMode, storagePath: path)
        #expect(try await deploy(first, "n5").status == .succeeded)
        _ = try await received(stub, "/hang/ops", count: 1)
        try await first.stop()
        let metrics = first.server.metrics.render()
        #expect(!metrics.contains(#"result="failed""#) && !metrics.contains(#"result="dropped""#), "kept, not given up: \(metrics)")

        // The receiver is fixed (a new URL, the same route): both notices arrive, in order.
        let second = try await TestServer(configure: configure("/ok/ops"), storagePath: path, restarting: first)
        let delivered = try await received(stub, "/ok/ops", count: 2)
        let keys = try delivered.map { try JSONDecoder().decode([String: JSONValue].self, from: $0.body)["key"]?.stringValue ?? "" }
        #expect(keys == ["deployment/n5/\(keys.first?.split(separator: "/").last ?? "")", keys[1]] && Set(keys).count == 2, "\(keys)")
        #expect(try await metricShows(second, #"ecs_notifications_total{sink="webhook",result="delivered"} 2"#))
        try await second.stop()

        let store = try SQLiteDeploymentStore(path: path)
        #expect(try await store.outboxUnsent().isEmpty, "nothing left to send")
        #expect(try await store.outboxKeep(route: "ops", key: keys[0], notice: "{}", at: Date()) == false, "a notice sent is a repeat")
        let third = try await TestServer(configure: configure("/ok/ops"), storagePath: path, restarting: second)
        try await third.stop()
        #expect(stub.received.filter { $0.path.hasPrefix("/ok/ops") }.count == 2, "nothing sent twice")
    }

    @Test func configNamesTheFieldAndNeverShowsASecret() throws {
        let secretURL = "https://hooks.slack.com/services/T0/B0/planted-secret"
        let cases: [(String, String)] = [
            ("notifications:\n  routes:\n    - {name: a, sink: pager, url: \"\(secretURL)\"}\n", "notifications.routes[0].sink: 'pager' is not slack, teams, webhook or sns"),
            ("notifications:\n  routes:\n    - {name: a, sink: slack}\n", "notifications.routes[0].url: is required"),
            ("notifications:\n  routes:\n    - {name: a, sink: sns, topic_arn: \"arn:aws:sqs:us-east-1:1:q\"}\n",
             "notifications.routes[0].topic_arn: 'arn:aws:sqs:us-east-1:1:q' is not an SNS topic ARN"),
            ("notifications:\n  routes:\n    - {name: a, sink: slack, url_env: NO_SUCH_VARIABLE}\n",
             "notifications.routes[0].url_env: the environment variable NO_SUCH_VARIABLE is not set"),
            ("notifications:\n  routes:\n    - {name: a, sink: slack, url: \"ftp://planted-secret\"}\n", "notifications.routes[0].url: is not an http(s) URL"),
            ("notifications:\n  routes:\n    - {name: a, sink: slack, url: \"\(secretURL)\", events: [finished]}\n",
             "notifications.routes[0].events: 'finished' is not one of started, approval_requested"),
            ("notifications:\n  routes:\n    - {name: a, sink: slack, url: \"\(secretURL)\"}\n    - {name: a, sink: teams, url: \"\(secretURL)\"}\n",
             "notifications.routes[1].name: 'a' names two routes"),
        ]
        Self.expectRefused(cases)
        var config = ServerConfig()
        try config.apply(yaml: "notifications:\n  retry_delay: 2s\n  routes:\n    - name: deploys\n      sink: webhook\n      url_env: HOOK_URL\n"
            + "      secret_env: HOOK_SECRET\n      events: [failed, rolled_back]\n      kinds: [release]\n      match: {cluster: \"prod*\"}\n",
            source: "config.yaml", environment: ["HOOK_URL": "https://example.com/hook", "HOOK_SECRET": "s"])
        #expect(config.notifications.settings.retryDelay == .seconds(2))
        #expect(config.notifications.routes == [NotificationRoute(name: "deploys", sink: .webhook(url: "https://example.com/hook", secret: "s"),
                                                                  events: [.failed, .rolledBack], cluster: "prod*", kinds: [.release])])
    }
}
