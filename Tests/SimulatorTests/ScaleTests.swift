import CloudModel
import Foundation
import Simulator
import Testing

@Suite("Many services")
struct ScaleTests {
    /// 1000 services rolled out at once and polled every 5 simulated seconds, 10 per
    /// DescribeServices, until every one has COMPLETED. Event-driven playing keeps this cheap.
    @Test func thousandServicesRollOut() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let v2 = try w.register(image: "nginx:2")
        let names = (0..<1000).map { "svc\($0)" }
        for name in names { try w.sim.createService(cluster: "prod", name: name, taskDefinition: v1, desiredCount: 3) }
        let start = ContinuousClock.now
        for name in names { try await w.deploy(name, taskDefinition: v2) }
        var completed = 0
        for _ in 0..<6 {
            w.advance(5)
            completed = 0
            for batch in stride(from: 0, to: names.count, by: 10) {
                let services = try await w.ecs.describeServices(cluster: "prod", services: Array(names[batch..<batch + 10]))
                completed += services.filter { $0.deployments.count == 1 && $0.primaryDeployment?.rolloutState == "COMPLETED" }.count
            }
        }
        let elapsed = start.duration(to: .now)
        #expect(completed == 1000)
        print("1000 services rolled out and polled in \(elapsed)")
    }

    /// A crash loop without circuit breaker over six simulated hours: bounded memory, little CPU.
    @Test func crashLoopOverHoursStaysBounded() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:crash-after-1s")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 3,
                                circuitBreaker: CircuitBreaker(enable: false, rollback: false))
        let start = ContinuousClock.now
        w.advance(6 * 3600)
        let s = try await w.describe()
        #expect(s.primaryDeployment?.failedTasks ?? 0 > 10_000)
        #expect(w.sim.tasks(cluster: "prod", service: "web").count <= 110)
        print("six hours of crash loop played in \(start.duration(to: .now))")
    }
}
