import CloudModel
import DeployAPI
import Engine
import Foundation
import Synchronization
import Testing

/// What the engine hands the pre-flight, and what it does with a warning.
@Suite struct PreflightTests {
    /// Records the task definitions it is asked about; answers a warning.
    final class Recording: DeploymentPreflight {
        let seen = Mutex<[JSONValue]>([])
        func check(_ request: DeploymentRequest, taskDefinition: JSONValue, settings: DeploymentSettings, native: Bool) async throws -> [String] {
            seen.withLock { $0.append(taskDefinition) }
            return ["permissions not checked: iam:SimulatePrincipalPolicy failed (AccessDenied: no); continuing"]
        }
        func checkScheduledTask(rule: String, taskDefinition: JSONValue, targetRoles: [String]) async throws -> [String] {
            Issue.record("no scheduled task here")
            return []
        }
    }

    @Test func theRegisteredRolesAreCheckedAndAWarningIsShownEverywhere() async throws {
        let preflight = Recording()
        let audit = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).log").path
        let t = try await TestServer(auditPath: audit, preflight: preflight) { seeder in
            let td = try seeder.sim.registerTaskDefinition(TaskDefinition(json: try JSONValue.parse(
                #"{"family":"web","executionRoleArn":"arn:aws:iam::123456789012:role/web-exec","taskRoleArn":"arn:aws:iam::123456789012:role/web-task","containerDefinitions":[{"name":"app","image":"nginx:1"}]}"#)))
            try seeder.sim.createService(cluster: "prod", name: "web", taskDefinition: td.arn!, desiredCount: 2)
        }
        // A redeploy that names no containers registers the current ones, with their roles.
        let r = await t.client(["-id", "p1", "-cluster", "prod", "-service", "web", "-taskdef", #"{"family":"web","cpu":"512"}"#])
        #expect(r.code == 0, "\(r.text)")
        let seen = try #require(preflight.seen.withLock { $0.first })
        #expect(seen["executionRoleArn"]?.stringValue == "arn:aws:iam::123456789012:role/web-exec")
        #expect(seen["taskRoleArn"]?.stringValue == "arn:aws:iam::123456789012:role/web-task")
        #expect(seen["cpu"]?.stringValue == "512")
        // The warning: in the client's output, the status, the events and the audit log.
        #expect(r.err.contains("warning: permissions not checked: iam:SimulatePrincipalPolicy failed (AccessDenied: no); continuing"), "\(r.text)")
        #expect(try await t.waitUntilFinished("p1").status == .succeeded)
        let status = await t.client(["-id", "p1", "-action", "status"])
        #expect(status.out.contains("Warning:     permissions not checked: iam:SimulatePrincipalPolicy failed (AccessDenied: no); continuing"),
                "\(status.text)")
        try await t.stop()
        #expect(try String(contentsOfFile: audit, encoding: .utf8).contains(#""event_type":"preflight.warning""#))
    }
}
