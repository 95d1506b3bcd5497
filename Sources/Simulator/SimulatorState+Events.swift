import CloudModel
import Foundation

/// EventBridge rules and their targets (scheduled tasks).
extension SimulatorState {
    mutating func createEventRule(name: String, scheduleExpression: String?, state: String,
                                  targets: [RuleTarget]) -> EventRule {
        let rule = EventRule(name: name, arn: ARN.eventRule(name), scheduleExpression: scheduleExpression, state: state)
        eventRules[name] = EventRuleRecord(rule: rule, targets: targets)
        return rule
    }

    private func ruleRecord(_ name: String) throws -> EventRuleRecord {
        guard let record = eventRules[name.arnResourceName] else {
            throw CloudError(code: CloudError.resourceNotFound,
                             message: "Rule \(name.arnResourceName) does not exist on EventBus default.")
        }
        return record
    }

    /// Mock mode: a rule named for the first time is created with one ECS target running a
    /// task definition of the rule's name (one nginx container), like a scheduled task.
    mutating func autoCreateRule(_ name: String, now: Date) throws {
        let rule = name.arnResourceName
        guard settings.autoCreate, eventRules[rule] == nil else { return }
        createdOnRead = true
        let definition: TaskDefinition
        if let latest = taskDefinitions[rule]?.last {
            definition = latest
        } else {
            definition = try register(.fargate(family: rule, image: TaskDefinition.mockImage), now: now)
        }
        let target = RuleTarget(json: .object([
            "Id": .string("1"), "Arn": .string(ARN.cluster("default")),
            "RoleArn": .string("arn:aws:iam::\(SimulatedAccount.id):role/ecsEventsRole"),
            "EcsParameters": .object(["TaskDefinitionArn": .string(definition.arn ?? rule), "TaskCount": .number(1),
                                      "LaunchType": .string("FARGATE")]),
        ]))
        _ = createEventRule(name: rule, scheduleExpression: "rate(1 day)", state: "ENABLED", targets: [target])
    }

    func describeRule(name: String) throws -> EventRule { try ruleRecord(name).rule }

    mutating func putRule(name: String, scheduleExpression: String?, state: String?) throws -> EventRule {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw CloudError(code: "ValidationException", message: "Rule name must be 1 to 64 letters, digits, '.', '_' or '-'.")
        }
        if let scheduleExpression, !scheduleExpression.hasPrefix("cron("), Self.period(of: scheduleExpression) == nil {
            throw CloudError(code: "ValidationException", message: "Parameter ScheduleExpression is not valid.")
        }
        guard ["ENABLED", "DISABLED", nil].contains(state) else {
            throw CloudError(code: "ValidationException", message: "State must be ENABLED or DISABLED.")
        }
        if var record = eventRules[name] {
            record.rule.scheduleExpression = scheduleExpression ?? record.rule.scheduleExpression
            record.rule.state = state ?? record.rule.state
            eventRules[name] = record
            return record.rule
        }
        return createEventRule(name: name, scheduleExpression: scheduleExpression, state: state ?? "ENABLED", targets: [])
    }

    func listTargetsByRule(rule: String) throws -> [RuleTarget] { try ruleRecord(rule).targets }

    /// Upserts by `Id`, storing each target's JSON exactly as given.
    mutating func putTargets(rule: String, targets: [RuleTarget]) throws {
        var record = try ruleRecord(rule)
        for target in targets {
            guard let id = target.id, !id.isEmpty else {
                throw CloudError(code: "ValidationException", message: "Every target must have an Id.")
            }
        }
        for target in targets {
            if let i = record.targets.firstIndex(where: { $0.id == target.id }) {
                record.targets[i] = target
            } else {
                record.targets.append(target)
            }
        }
        eventRules[record.rule.name] = record
    }
}

/// Rules that fire: an ENABLED rule with a `rate(N minute|minutes|hour|hours|day|days)`
/// schedule runs its ECS targets' tasks (`TaskCount` of `TaskDefinitionArn` in the target's
/// cluster, started by `events-rule/<rule>` as EventBridge starts them) at every period since
/// the simulator first saw it; each job exits `scheduledTaskDuration` after RUNNING. Rules are
/// played forward when tasks or rules are read; after a long gap at most 10 firings are
/// caught up (EventBridge does not queue missed ones either). `cron(...)` schedules never fire.
extension SimulatorState {
    /// The period of a `rate(...)` schedule, in seconds.
    static func period(of schedule: String?) -> TimeInterval? {
        guard let schedule, schedule.hasPrefix("rate("), schedule.hasSuffix(")") else { return nil }
        let parts = schedule.dropFirst(5).dropLast().split(separator: " ")
        guard parts.count == 2, let n = Int(parts[0]), n > 0 else { return nil }
        let unit: TimeInterval? = switch parts[1] {
        case "minute", "minutes": 60
        case "hour", "hours": 3600
        case "day", "days": 86400
        default: nil
        }
        return unit.map { Double(n) * $0 }
    }

    mutating func fireRules(until now: Date) {
        for name in eventRules.keys.sorted() {
            guard var record = eventRules[name] else { continue }
            guard record.rule.state == "ENABLED", let period = Self.period(of: record.rule.scheduleExpression) else { continue }
            guard let since = record.firedUntil else {
                record.firedUntil = now
                eventRules[name] = record
                continue
            }
            // How many firings are due, counted (a clock at mock.speedup may have run years
            // ahead): the first 10 run, the rest are passed over.
            let due = (now.timeIntervalSince(since) / period).rounded(.down)
            guard due >= 1 else { continue }
            for k in 1...Int(min(due, 10)) { run(record, at: since.addingTimeInterval(period * Double(k))) }
            record.firedUntil = since.addingTimeInterval(period * due)
            eventRules[name] = record
        }
    }

    /// Runs the rule's ECS targets' tasks at `t`.
    private mutating func run(_ record: EventRuleRecord, at t: Date) {
        for target in record.targets {
            guard let ecs = target.json["EcsParameters"], let arn = ecs["TaskDefinitionArn"]?.stringValue,
                  let definition = taskDefinition(arn: arn), let clusterArn = target.json["Arn"]?.stringValue else { continue }
            // A target's cluster, as a request named it: ECS's bound on a cluster's name.
            let cluster = clusterArn.arnResourceName
            guard !cluster.isEmpty, cluster.count <= 255 else { continue }
            if clusters[cluster] == nil { createCluster(cluster) }
            let images = definition.images.map(\.image)
            var behavior = images.reduce(ImageBehavior.healthy) { $0.merged(with: imageBehaviors[$1] ?? .fromTag(of: $1)) }
            behavior = behavior.merged(with: .crash(after: settings.scheduledTaskDuration))
            for _ in 0..<max(1, min(10, ecs["TaskCount"]?.intValue ?? 1)) {
                nextIP += 1
                let task = TaskRecord(
                    id: ids.hex(32), cluster: cluster, taskDefinitionArn: definition.arn ?? arn, owner: "events-rule/\(record.rule.name)",
                    group: "family:\(definition.family ?? arn.arnResourceName)", privateIP: "10.1.\(nextIP / 250 % 250).\(nextIP % 250 + 4)",
                    targets: [], behavior: behavior, image: images.first { (imageBehaviors[$0] ?? .fromTag(of: $0)).failToStart },
                    launchedAt: t, settings: settings)
                let earlier = clusters[cluster]?.tasks ?? []
                clusters[cluster]?.tasks = earlier + [task]
                createdOnRead = true
            }
        }
    }

    /// The cluster's own tasks (of no service) at `now`: rules fired, jobs that ended stopped,
    /// those stopped longer than `stoppedTaskRetention` forgotten.
    mutating func clusterTasks(_ cluster: String, now: Date) -> [TaskRecord] {
        fireRules(until: now)
        guard var tasks = clusters[cluster]?.tasks, !tasks.isEmpty else { return [] }
        for i in tasks.indices {
            if let reason = tasks[i].dueFailure(at: now), let at = tasks[i].failAt {
                tasks[i].stop(at: at, reason: reason, settings: settings)
            }
        }
        let forgotten = now.addingTimeInterval(-settings.stoppedTaskRetention)
        tasks.removeAll { task in task.stoppedAt.map { $0 < forgotten } ?? false }
        clusters[cluster]?.tasks = tasks
        return tasks
    }
}

/// A message published to a simulated SNS topic.
public struct PublishedMessage: Sendable, Equatable {
    public var id: String
    public var subject: String
    public var message: String
    public var at: Date
}
