import CloudModel
import Engine
import Foundation
import Synchronization
import Testing
import TestSupport

/// A save the store refuses is never silent: the server logs it, counts it
/// (`ecs_errors_total{component="store",type="save_failed"}`) and shows it in the
/// deployment's status; the next change saves the record whole again.
@Suite struct SaveFailureTests {
    /// Memory, with saves that fail while `failing` is set.
    final class FlakyStore: ForwardingStore {
        let inner = InMemoryDeploymentStore()
        let failing = Mutex(false)
        struct Refused: Error, CustomStringConvertible { var description: String { "disk full" } }

        var isDurable: Bool { false }
        func save(_ record: DeploymentRecord) async throws {
            if failing.withLock({ $0 }) { throw Refused() }
            try await inner.save(record)
        }
    }

    @Test func aRefusedSaveIsLoggedCountedAndShown() async throws {
        let store = FlakyStore()
        let t = try await TestServer(store: store)
        try t.seedService(name: "web")
        store.failing.withLock { $0 = true }
        let deploy = await t.client(["-id", "s1", "-cluster", "prod", "-service", "web", "-config", #"{"require_approval":"true"}"#,
                                     "-taskdef", #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#])
        #expect(deploy.code == 0, "\(deploy.text)")
        let metrics = try await t.http("/metrics").body
        #expect(metrics.contains(#"ecs_errors_total{component="store",type="save_failed"}"#), "\(metrics.prefix(3000))")
        let status = await t.client(["-id", "s1", "-action", "status"])
        #expect(status.out.contains { $0.hasPrefix("Warning:") && $0.contains("could not be saved") && $0.contains("disk full") },
                "\(status.text)")
        #expect(try await store.inner.load(id: "s1") == nil)

        // The store works again: the next change saves the whole record, warning included.
        store.failing.withLock { $0 = false }
        #expect(await t.client(["-id", "s1", "-action", "approve", "-approver", "ops"]).code == 0)
        #expect(try await t.waitUntilFinished("s1").status == .succeeded)
        let saved = try #require(try await store.inner.load(id: "s1"))
        #expect(saved.status == .succeeded)
        #expect(saved.warnings?.contains { $0.contains("could not be saved") } == true)
        try await t.stop()
    }
}
