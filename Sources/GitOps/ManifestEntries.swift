import Engine
import Foundation
import Yams

/// The keys of the `tasks:` and `services:` entries of a manifest.
enum ManifestEntryKeys {
    static let task = ["service", "cwRuleName", "image", "containerName", "config", "wave"]
    static let service = ["service", "clusterName", "serviceName", "image", "containerName", "strategy", "config", "wave",
                          "alarms", "analysis", "cpu", "memory"]
    /// Lists that stand for a `config:` key of the same name (CloudWatch alarms, metric templates).
    static let listSettings = ["alarms", "analysis"]

    static let taskHints = [
        "strategy": "scheduled tasks are repointed to the new task definition; they have no strategy",
        "clusterName": "tasks are found by their EventBridge rule: use cwRuleName",
        "cpu": "a scheduled task's size is its task definition's; cpu and memory belong to services",
        "memory": "a scheduled task's size is its task definition's; cpu and memory belong to services",
        "serviceName": "tasks are found by their EventBridge rule: use cwRuleName",
    ]
    static let serviceHints = [
        "cwRuleName": "cwRuleName belongs to entries under tasks:",
    ]
}

/// An entry read from the manifest, with the line it starts on.
struct ManifestEntry {
    var entry: ReleaseEntry
    var path: String
    var line: Int?
}

extension ManifestReader {
    /// The entries of a `tasks:` or `services:` list; entries with problems are reported and left out.
    mutating func entries(_ field: ManifestField, kind: ReleaseEntry.Kind) -> [ManifestEntry] {
        if field.isNull { return [] }
        guard case .sequence(let list) = field.value else {
            report(field.value, field.path, "must be a list of entries (lines starting with '- '), not \(field.value.kindName)")
            return []
        }
        var out: [ManifestEntry] = []
        for (index, node) in list.enumerated() {
            if let entry = entry(node, path: "\(field.path)[\(index)]", kind: kind) { out.append(entry) }
        }
        return out
    }

    private mutating func entry(_ node: Node, path: String, kind: ReleaseEntry.Kind) -> ManifestEntry? {
        let isTask = kind == .scheduledTask
        let before = problems.count
        guard let fields = fields(of: node, path: path, known: isTask ? ManifestEntryKeys.task : ManifestEntryKeys.service,
                                  hints: isTask ? ManifestEntryKeys.taskHints : ManifestEntryKeys.serviceHints) else { return nil }
        func text(_ name: String, required: Bool) -> String? {
            string(fields[name], required: required, owner: node, ownerPath: path, name: name)
        }
        let label = text("service", required: true)
        let rule = isTask ? text("cwRuleName", required: true) : nil
        let cluster = isTask ? nil : text("clusterName", required: true)
        let service = isTask ? nil : text("serviceName", required: true)
        let image = text("image", required: true)
        if let image, let field = fields["image"], image.contains(where: \.isWhitespace) {
            report(line: field.line, field.path, "'\(image)' is not an image reference (it contains spaces)")
        }
        let container = text("containerName", required: false)
        // The task's size: CPU units or "N vCPU", MiB or "N GB", as a task definition takes them.
        var size: [String: String] = [:]
        for (key, read, example) in [("cpu", TaskSize.vcpu, "256, 1024 or \"1 vCPU\""), ("memory", TaskSize.gigabytes, "512, 2048 or \"2 GB\"")] {
            guard let value = text(key, required: false), let field = fields[key] else { continue }
            if read(value) == nil {
                report(line: field.line, field.path, "'\(value)' is not a task \(key) (e.g. \(example))")
            } else {
                size[key] = value
            }
        }
        var strategy = StrategyKind.quicksync
        if let field = fields["strategy"], let name = string(field, required: false, owner: node, ownerPath: path, name: "strategy") {
            do {
                strategy = try StrategyKind.parse(name)
            } catch let error as EngineError {
                report(line: field.line, field.path, error.detail)
            } catch {
                report(line: field.line, field.path, "\(error)")
            }
        }
        var config = fields["config"].flatMap { settings($0) } ?? [:]
        for key in ManifestEntryKeys.listSettings {
            guard let field = fields[key], let names = stringList(field) else { continue }
            if config[key] != nil {
                report(line: field.line, field.path, "is given twice: here and in config.\(key)")
                continue
            }
            let value = names.joined(separator: ",")
            do {
                _ = try DeploymentSettings().applying([key: value])
                config[key] = value
            } catch let error as EngineError {
                report(line: field.line, field.path, error.detail)
            } catch {
                report(line: field.line, field.path, "\(error)")
            }
        }
        var wave = 0
        if let field = fields["wave"], !field.isNull {
            wave = integer(field, in: 0...10_000, what: "a wave number (a whole number from 0)") ?? 0
        }
        guard problems.count == before, let label, let image else { return nil }
        let line = node.mark?.line
        var entry = ReleaseEntry(kind: kind, label: label, cluster: cluster ?? "", service: service ?? "", ruleName: rule ?? "",
                                 image: image, containerName: container, strategy: strategy, config: config, wave: wave,
                                 source: line.map { "\(file):\($0)" } ?? file)
        entry.cpu = size["cpu"]
        entry.memory = size["memory"]
        return ManifestEntry(entry: entry, path: path, line: line)
    }

    /// An entry's `config:` map, each key checked by the engine's own settings reader (which
    /// names the key and what is wrong with it).
    private mutating func settings(_ field: ManifestField) -> [String: String]? {
        guard let map = stringMap(field) else { return nil }
        var ok = true
        for key in map.keys.sorted() {
            let (value, line) = map[key]!
            do {
                _ = try DeploymentSettings().applying([key: value])
            } catch let error as EngineError {
                let subfield = error.field.map { $0.hasPrefix("config.") ? String($0.dropFirst("config.".count)) : $0 } ?? key
                report(line: line, "\(field.path).\(subfield)", error.detail)
                ok = false
            } catch {
                report(line: line, "\(field.path).\(key)", "\(error)")
                ok = false
            }
        }
        return ok ? map.mapValues(\.value) : nil
    }

    /// Reports entries that deploy the same thing twice (same cluster and service, or same rule),
    /// naming both places.
    mutating func reportDuplicates(_ entries: [ManifestEntry]) {
        var seen: [String: ManifestEntry] = [:]
        for item in entries {
            guard let first = seen[item.entry.key] else {
                seen[item.entry.key] = item
                continue
            }
            let what = item.entry.kind == .service
                ? "cluster '\(item.entry.cluster)' and service '\(item.entry.service)'"
                : "rule '\(item.entry.ruleName)'"
            let firstPlace = first.line.map { "\(first.path) at line \($0)" } ?? first.path
            report(line: item.line, item.path, "deploys the same \(what) as \(firstPlace)")
        }
    }
}
