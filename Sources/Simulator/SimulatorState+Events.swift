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

/// A message published to a simulated SNS topic.
public struct PublishedMessage: Sendable, Equatable {
    public var id: String
    public var subject: String
    public var message: String
    public var at: Date
}
