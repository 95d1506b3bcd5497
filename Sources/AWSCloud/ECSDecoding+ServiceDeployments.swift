import CloudModel
import Foundation

/// ECS's own blue/green, linear and canary: the deployment configuration's strategy members,
/// a load balancer's advanced configuration, and the service deployments and revisions, read
/// and written in AWS's shapes (both ends: `ECSClient` and `ECSWire`).
extension ECSDecoding {
    func advancedConfiguration(_ v: JSONValue) -> AdvancedConfiguration? {
        guard let alternate = v["alternateTargetGroupArn"]?.stringValue, let production = v["productionListenerRule"]?.stringValue else {
            return nil
        }
        return AdvancedConfiguration(alternateTargetGroupArn: alternate, productionListenerRule: production,
                                     testListenerRule: v["testListenerRule"]?.stringValue, roleArn: v["roleArn"]?.stringValue)
    }

    /// The strategy members of a `deploymentConfiguration` (the rest is read by `deploymentConfiguration`).
    func strategyMembers(_ v: JSONValue, into c: inout DeploymentConfiguration) {
        c.strategy = v["strategy"]?.stringValue.flatMap(DeploymentStrategy.init(rawValue:))
        c.bakeTimeInMinutes = read.int(v, "bakeTimeInMinutes")
        if let canary = v["canaryConfiguration"] {
            c.canaryConfiguration = CanaryConfiguration(canaryPercent: read.double(canary, "canaryPercent"),
                                                        canaryBakeTimeInMinutes: read.int(canary, "canaryBakeTimeInMinutes"))
        }
        if let linear = v["linearConfiguration"] {
            c.linearConfiguration = LinearConfiguration(stepPercent: read.double(linear, "stepPercent"),
                                                        stepBakeTimeInMinutes: read.int(linear, "stepBakeTimeInMinutes"))
        }
        if let hooks = v["lifecycleHooks"]?.arrayValue {
            c.lifecycleHooks = hooks.map { h in
                DeploymentLifecycleHook(targetType: h["targetType"]?.stringValue, hookTargetArn: h["hookTargetArn"]?.stringValue,
                                        roleArn: h["roleArn"]?.stringValue,
                                        lifecycleStages: (h["lifecycleStages"]?.arrayValue ?? []).compactMap(\.stringValue),
                                        timeoutInMinutes: h["timeoutConfiguration"].flatMap { read.int($0, "timeoutInMinutes") },
                                        timeoutAction: h["timeoutConfiguration"]?["action"]?.stringValue,
                                        hookDetails: h["hookDetails"].flatMap { $0 == .null ? nil : $0 })
            }
        }
        if let alarms = v["alarms"] {
            c.alarms = DeploymentAlarms(alarmNames: (alarms["alarmNames"]?.arrayValue ?? []).compactMap(\.stringValue),
                                        enable: alarms["enable"]?.boolValue ?? false, rollback: alarms["rollback"]?.boolValue ?? false)
        }
    }

    func serviceDeploymentBrief(_ v: JSONValue) throws -> ServiceDeploymentBrief {
        let ctx = "serviceDeployments[]"
        return ServiceDeploymentBrief(
            serviceDeploymentArn: try read.string(v, "serviceDeploymentArn", in: ctx), status: try read.string(v, "status", in: ctx),
            statusReason: v["statusReason"]?.stringValue, targetServiceRevisionArn: v["targetServiceRevisionArn"]?.stringValue,
            createdAt: read.date(v, "createdAt"), finishedAt: read.date(v, "finishedAt"))
    }

    func serviceDeployment(_ v: JSONValue) throws -> ServiceDeploymentDetail {
        let ctx = "serviceDeployments[]"
        func summary(_ s: JSONValue) throws -> ServiceRevisionSummary {
            ServiceRevisionSummary(arn: try read.string(s, "arn", in: "\(ctx).serviceRevision"),
                                   requestedTaskCount: read.int(s, "requestedTaskCount") ?? 0,
                                   runningTaskCount: read.int(s, "runningTaskCount") ?? 0,
                                   pendingTaskCount: read.int(s, "pendingTaskCount") ?? 0,
                                   requestedTestTrafficWeight: read.double(s, "requestedTestTrafficWeight"),
                                   requestedProductionTrafficWeight: read.double(s, "requestedProductionTrafficWeight"))
        }
        func monitor(_ m: JSONValue?) -> RollbackMonitor? {
            guard let m, let status = m["status"]?.stringValue else { return nil }
            let triggered = m["triggeredAlarmNames"]?.arrayValue?.compactMap(\.stringValue)
            return RollbackMonitor(status: status, failureCount: read.int(m, "failureCount"), threshold: read.int(m, "threshold"),
                                   triggeredAlarmNames: triggered?.isEmpty == false ? triggered : nil)
        }
        return ServiceDeploymentDetail(
            serviceDeploymentArn: try read.string(v, "serviceDeploymentArn", in: ctx), serviceArn: v["serviceArn"]?.stringValue,
            clusterArn: v["clusterArn"]?.stringValue, status: try read.string(v, "status", in: ctx),
            statusReason: v["statusReason"]?.stringValue, lifecycleStage: v["lifecycleStage"]?.stringValue,
            sourceServiceRevisions: try read.array(v, "sourceServiceRevisions").map(summary),
            targetServiceRevision: try v["targetServiceRevision"].map(summary),
            lifecycleHookDetails: read.array(v, "lifecycleHookDetails").compactMap { h in
                guard let id = h["hookId"]?.stringValue, let status = h["status"]?.stringValue else { return nil }
                return LifecycleHookDetail(hookId: id, targetType: h["targetType"]?.stringValue, targetArn: h["targetArn"]?.stringValue,
                                           status: status, expiresAt: read.date(h, "expiresAt"), timeoutAction: h["timeoutAction"]?.stringValue)
            },
            deploymentConfiguration: v["deploymentConfiguration"].map(deploymentConfiguration),
            rollback: v["rollback"].map { r in
                ServiceDeploymentRollback(reason: r["reason"]?.stringValue, startedAt: read.date(r, "startedAt"),
                                          serviceRevisionArn: r["serviceRevisionArn"]?.stringValue)
            },
            circuitBreaker: monitor(v["deploymentCircuitBreaker"]), alarms: monitor(v["alarms"]),
            createdAt: read.date(v, "createdAt"), startedAt: read.date(v, "startedAt"), finishedAt: read.date(v, "finishedAt"),
            stoppedAt: read.date(v, "stoppedAt"), updatedAt: read.date(v, "updatedAt"))
    }

    func serviceRevision(_ v: JSONValue) throws -> ServiceRevision {
        ServiceRevision(serviceRevisionArn: try read.string(v, "serviceRevisionArn", in: "serviceRevisions[]"),
                        serviceArn: v["serviceArn"]?.stringValue, taskDefinition: v["taskDefinition"]?.stringValue,
                        loadBalancers: read.array(v, "loadBalancers").compactMap(loadBalancer),
                        resolvedTargetGroups: v["resolvedConfiguration"].map { read.array($0, "loadBalancers") }?
                            .compactMap { $0["targetGroupArn"]?.stringValue } ?? [],
                        createdAt: read.date(v, "createdAt"))
    }

    // MARK: Inputs and answers

    static func strategyMembers(_ c: DeploymentConfiguration, into fields: inout [String: JSONValue]) {
        if let s = c.strategy { fields["strategy"] = .string(s.rawValue) }
        if let m = c.bakeTimeInMinutes { fields["bakeTimeInMinutes"] = .number(Double(m)) }
        if let canary = c.canaryConfiguration {
            var f: [String: JSONValue] = [:]
            if let p = canary.canaryPercent { f["canaryPercent"] = .number(p) }
            if let m = canary.canaryBakeTimeInMinutes { f["canaryBakeTimeInMinutes"] = .number(Double(m)) }
            fields["canaryConfiguration"] = .object(f)
        }
        if let linear = c.linearConfiguration {
            var f: [String: JSONValue] = [:]
            if let p = linear.stepPercent { f["stepPercent"] = .number(p) }
            if let m = linear.stepBakeTimeInMinutes { f["stepBakeTimeInMinutes"] = .number(Double(m)) }
            fields["linearConfiguration"] = .object(f)
        }
        if let hooks = c.lifecycleHooks {
            fields["lifecycleHooks"] = .array(hooks.map { h in
                var f: [String: JSONValue] = ["lifecycleStages": .array(h.lifecycleStages.map(JSONValue.string))]
                if let t = h.targetType { f["targetType"] = .string(t) }
                if let a = h.hookTargetArn { f["hookTargetArn"] = .string(a) }
                if let r = h.roleArn { f["roleArn"] = .string(r) }
                if let d = h.hookDetails { f["hookDetails"] = d }
                var timeout: [String: JSONValue] = [:]
                if let m = h.timeoutInMinutes { timeout["timeoutInMinutes"] = .number(Double(m)) }
                if let a = h.timeoutAction { timeout["action"] = .string(a) }
                if !timeout.isEmpty { f["timeoutConfiguration"] = .object(timeout) }
                return .object(f)
            })
        }
        if let alarms = c.alarms {
            fields["alarms"] = .object(["alarmNames": .array(alarms.alarmNames.map(JSONValue.string)), "enable": .bool(alarms.enable),
                                        "rollback": .bool(alarms.rollback)])
        }
    }

    static func json(_ a: AdvancedConfiguration) -> JSONValue {
        var fields: [String: JSONValue] = ["alternateTargetGroupArn": .string(a.alternateTargetGroupArn),
                                           "productionListenerRule": .string(a.productionListenerRule)]
        if let t = a.testListenerRule { fields["testListenerRule"] = .string(t) }
        if let r = a.roleArn { fields["roleArn"] = .string(r) }
        return .object(fields)
    }

    static func json(_ b: ServiceDeploymentBrief) -> JSONValue {
        var fields: [String: JSONValue] = ["serviceDeploymentArn": .string(b.serviceDeploymentArn), "status": .string(b.status)]
        if let r = b.statusReason { fields["statusReason"] = .string(r) }
        if let t = b.targetServiceRevisionArn { fields["targetServiceRevisionArn"] = .string(t) }
        fields["createdAt"] = timestamp(b.createdAt)
        fields["finishedAt"] = timestamp(b.finishedAt)
        return .object(fields)
    }

    static func json(_ d: ServiceDeploymentDetail) -> JSONValue {
        func summary(_ s: ServiceRevisionSummary) -> JSONValue {
            var f: [String: JSONValue] = ["arn": .string(s.arn), "requestedTaskCount": .number(Double(s.requestedTaskCount)),
                                          "runningTaskCount": .number(Double(s.runningTaskCount)),
                                          "pendingTaskCount": .number(Double(s.pendingTaskCount))]
            if let w = s.requestedTestTrafficWeight { f["requestedTestTrafficWeight"] = .number(w) }
            if let w = s.requestedProductionTrafficWeight { f["requestedProductionTrafficWeight"] = .number(w) }
            return .object(f)
        }
        func monitor(_ m: RollbackMonitor) -> JSONValue {
            var f: [String: JSONValue] = ["status": .string(m.status)]
            if let n = m.failureCount { f["failureCount"] = .number(Double(n)) }
            if let n = m.threshold { f["threshold"] = .number(Double(n)) }
            if let names = m.triggeredAlarmNames { f["triggeredAlarmNames"] = .array(names.map(JSONValue.string)) }
            return .object(f)
        }
        var fields: [String: JSONValue] = [
            "serviceDeploymentArn": .string(d.serviceDeploymentArn), "status": .string(d.status),
            "sourceServiceRevisions": .array(d.sourceServiceRevisions.map(summary)),
            "lifecycleHookDetails": .array(d.lifecycleHookDetails.map { h in
                var f: [String: JSONValue] = ["hookId": .string(h.hookId), "status": .string(h.status)]
                if let t = h.targetType { f["targetType"] = .string(t) }
                if let a = h.targetArn { f["targetArn"] = .string(a) }
                if let a = h.timeoutAction { f["timeoutAction"] = .string(a) }
                f["expiresAt"] = timestamp(h.expiresAt)
                return .object(f)
            }),
        ]
        if let v = d.serviceArn { fields["serviceArn"] = .string(v) }
        if let v = d.clusterArn { fields["clusterArn"] = .string(v) }
        if let v = d.statusReason { fields["statusReason"] = .string(v) }
        if let v = d.lifecycleStage { fields["lifecycleStage"] = .string(v) }
        if let v = d.targetServiceRevision { fields["targetServiceRevision"] = summary(v) }
        if let v = d.deploymentConfiguration { fields["deploymentConfiguration"] = json(v) }
        if let r = d.rollback {
            var f: [String: JSONValue] = [:]
            if let reason = r.reason { f["reason"] = .string(reason) }
            if let arn = r.serviceRevisionArn { f["serviceRevisionArn"] = .string(arn) }
            f["startedAt"] = timestamp(r.startedAt)
            fields["rollback"] = .object(f)
        }
        if let m = d.circuitBreaker { fields["deploymentCircuitBreaker"] = monitor(m) }
        if let m = d.alarms { fields["alarms"] = monitor(m) }
        for (key, date) in [("createdAt", d.createdAt), ("startedAt", d.startedAt), ("finishedAt", d.finishedAt),
                            ("stoppedAt", d.stoppedAt), ("updatedAt", d.updatedAt)] {
            fields[key] = timestamp(date)
        }
        return .object(fields)
    }

    static func json(_ r: ServiceRevision) -> JSONValue {
        var fields: [String: JSONValue] = ["serviceRevisionArn": .string(r.serviceRevisionArn),
                                           "loadBalancers": .array(r.loadBalancers.map(json))]
        if let v = r.serviceArn { fields["serviceArn"] = .string(v) }
        if let v = r.taskDefinition { fields["taskDefinition"] = .string(v) }
        if !r.resolvedTargetGroups.isEmpty {
            fields["resolvedConfiguration"] = .object(["loadBalancers": .array(r.resolvedTargetGroups.map { .object(["targetGroupArn": .string($0)]) })])
        }
        fields["createdAt"] = timestamp(r.createdAt)
        return .object(fields)
    }

    /// AWS JSON's timestamps: seconds since 1970.
    static func timestamp(_ d: Date?) -> JSONValue? { d.map { .number($0.timeIntervalSince1970) } }
}
