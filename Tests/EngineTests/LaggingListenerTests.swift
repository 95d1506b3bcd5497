import CloudModel
import Engine
import Foundation
import Synchronization
import Testing

/// A load balancer whose listeners show a new set of weights only after a few reads (as
/// ELBv2 may, right after ModifyListener): the engine must not move on until it reads back
/// what it asked for.
@Suite struct LaggingListenerTests {
    @Test func trafficStagesWaitUntilTheListenerShowsTheRequestedWeights() async throws {
        let lag = LaggingELB.State()
        let h = try EngineHarness(wrap: { cloud in
            Cloud(ecs: cloud.ecs, elb: LaggingELB(inner: cloud.elb, state: lag, staleReads: 2), events: cloud.events,
                  identity: cloud.identity, cloudWatch: cloud.cloudWatch, topics: cloud.topics)
        })
        let record = try await h.run(h.request("lag", strategy: .canary, config: ["canary_stages": "50,100", "stage_timeout": "1m"]))
        #expect(record.status == .succeeded, "\(record.error)")
        let (stale, violations, modifies) = lag.counts
        // Two weight changes (50%, 100%), each read back stale twice before it showed.
        #expect(modifies == 2)
        #expect(stale == 4)
        #expect(violations.isEmpty, "\(violations)")
        #expect(try h.weights()[h.green] == 100)
    }
}

/// Wraps an ELB: after ModifyListener, the next `staleReads` DescribeListeners show the
/// listener's previous actions. A ModifyListener while the previous change is not yet visible
/// is recorded as a violation.
struct LaggingELB: ELBAPI {
    final class State: Sendable {
        private struct Fields {
            var lastSeen: [String: [ListenerAction]] = [:]
            var pending: [String: (previous: [ListenerAction], remaining: Int)] = [:]
            var stale = 0
            var modifies = 0
            var violations: [String] = []
        }
        private let fields = Mutex(Fields())

        var counts: (stale: Int, violations: [String], modifies: Int) {
            fields.withLock { ($0.stale, $0.violations, $0.modifies) }
        }

        func modifying(_ arn: String, staleReads: Int) {
            fields.withLock { f in
                f.modifies += 1
                if let p = f.pending[arn], p.remaining > 0 { f.violations.append("ModifyListener before the previous change showed") }
                if let previous = f.lastSeen[arn] { f.pending[arn] = (previous, staleReads) }
            }
        }

        func shown(_ listeners: [Listener]) -> [Listener] {
            fields.withLock { f in
                listeners.map { listener in
                    var listener = listener
                    if let p = f.pending[listener.listenerArn], p.remaining > 0 {
                        f.pending[listener.listenerArn] = (p.previous, p.remaining - 1)
                        f.stale += 1
                        listener.defaultActions = p.previous
                    } else {
                        f.lastSeen[listener.listenerArn] = listener.defaultActions
                    }
                    return listener
                }
            }
        }
    }

    let inner: any ELBAPI
    let state: State
    let staleReads: Int

    func describeTargetGroups(arns: [String]) async throws -> [TargetGroup] { try await inner.describeTargetGroups(arns: arns) }
    func describeLoadBalancers(arns: [String]) async throws -> [LoadBalancer] { try await inner.describeLoadBalancers(arns: arns) }
    func describeListeners(loadBalancerArn: String) async throws -> [Listener] {
        state.shown(try await inner.describeListeners(loadBalancerArn: loadBalancerArn))
    }
    func describeRules(listenerArn: String) async throws -> [ListenerRule] { try await inner.describeRules(listenerArn: listenerArn) }
    func modifyListener(listenerArn: String, defaultActions: [ListenerAction]) async throws -> Listener {
        state.modifying(listenerArn, staleReads: staleReads)
        return try await inner.modifyListener(listenerArn: listenerArn, defaultActions: defaultActions)
    }
    func modifyRule(ruleArn: String, actions: [ListenerAction]) async throws -> ListenerRule {
        try await inner.modifyRule(ruleArn: ruleArn, actions: actions)
    }
    func describeTargetHealth(targetGroupArn: String) async throws -> [TargetHealth] {
        try await inner.describeTargetHealth(targetGroupArn: targetGroupArn)
    }
}
