import Engine
import Foundation
import Yams

/// Reads a `deployment.yaml` into a release.
///
/// ```yaml
/// release: spring-release        # optional; default: file@id
/// approval: required             # optional: required | true | false (default false)
/// onFailure: rollback            # optional: rollback (default) | stop | continue
/// maxParallel: 50                # optional positive integer
/// schedule: "2026-12-24T02:00:00Z"  # optional: planned now, started then (or a local time and a time zone)
/// tasks:                         # scheduled tasks (EventBridge rules), deployed first
///   - service: rating-cleanup
///     cwRuleName: test-rating-cleanup
///     image: "1111.dkr.ecr.us-west-2.amazonaws.com/rating-cleanup:2.0.0"
/// services:
///   - service: service-a
///     clusterName: test-Cluster
///     serviceName: movie-info
///     image: "1111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service:4.0.0"
///     containerName: app         # optional
///     strategy: canary           # optional, default quicksync
///     config: {canary_stages: "50,100"}
///     wave: 2                    # optional, default 0
///     cpu: 512                   # optional: the task's size (CPU units or "1 vCPU")
///     memory: 2048               # optional: MiB or "2 GB"
/// ```
public enum Manifest {
    /// Larger manifests are refused before they are parsed.
    public static let maxBytes = 1 << 20
    public static let topLevelKeys = ["release", "approval", "onFailure", "maxParallel", "schedule", "tasks", "services"]

    /// Parses and validates a manifest. Every problem found is reported, each with file, line
    /// and field; the error thrown is the first, the others are in its `others`.
    /// - Parameters:
    ///   - file: the manifest's name in messages and in each entry's `source` (`deployment.yaml:12`).
    ///   - releaseID: the release id (the commit sha for Git-driven releases).
    ///   - requestedBy: who asked; defaults to the origin's author.
    public static func parse(_ text: String, file: String = "deployment.yaml", releaseID: String,
                             origin: ReleaseOrigin? = nil, requestedBy: String? = nil) throws(ManifestError) -> ReleaseRequest {
        let size = text.utf8.count
        guard size <= maxBytes else {
            throw ManifestError(file: file, line: nil, field: nil, message: "is \(size) bytes; the limit is \(maxBytes)")
        }
        let root = try compose(text, file: file)
        var reader = ManifestReader(file: file)
        guard let fields = reader.fields(of: root, path: nil, known: topLevelKeys) else { throw reader.firstProblem! }

        var name = "\(file)@\(shortID(releaseID))"
        if let field = fields["release"],
           let given = reader.string(field, required: false, owner: root, ownerPath: "", name: "release") {
            name = given
        }
        var approval = false
        if let field = fields["approval"], !field.isNull {
            approval = reader.approval(field) ?? false
        }
        var onFailure = ReleaseFailurePolicy.rollback
        if let field = fields["onFailure"], !field.isNull {
            onFailure = reader.failurePolicy(field) ?? .rollback
        }
        var maxParallel: Int?
        if let field = fields["maxParallel"], !field.isNull {
            maxParallel = reader.integer(field, in: 1...Int(Int32.max), what: "a positive integer")
        }
        var startAt: Date?
        if let field = fields["schedule"], !field.isNull,
           let text = reader.string(field, required: false, owner: root, ownerPath: "", name: "schedule") {
            do {
                startAt = try DeploymentSettings.instant("schedule", text)
            } catch let error as EngineError {
                reader.report(line: field.line, field.path, error.detail)
            } catch {
                reader.report(line: field.line, field.path, "\(error)")
            }
        }
        let tasks = fields["tasks"].map { reader.entries($0, kind: .scheduledTask) } ?? []
        let services = fields["services"].map { reader.entries($0, kind: .service) } ?? []
        reader.reportDuplicates(tasks + services)
        if reader.problems.isEmpty && tasks.isEmpty && services.isEmpty {
            reader.report(line: root.mark?.line, nil, "no entries to release: add a 'services:' or 'tasks:' list")
        }
        if let problem = reader.firstProblem { throw problem }
        var request = ReleaseRequest(id: releaseID, name: name, entries: (tasks + services).map(\.entry), requireApproval: approval,
                                     onFailure: onFailure, maxParallel: maxParallel, origin: origin,
                                     requestedBy: requestedBy ?? origin?.author ?? "")
        request.startAt = startAt
        return request
    }

    /// The document's root node; YAML syntax errors keep their line.
    static func compose(_ text: String, file: String) throws(ManifestError) -> Node {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file, text: text)
        } catch {
            throw ManifestError(file: file, line: nil, field: nil, message: "invalid YAML: \(error)")
        }
        guard let root, !root.isNullScalar else {
            throw ManifestError(file: file, line: nil, field: nil, message: "is empty: expected a 'services:' or 'tasks:' list")
        }
        return root
    }

    static func syntaxError(_ error: YamlError, file: String, text: String) -> ManifestError {
        func make(_ line: Int?, _ message: String) -> ManifestError {
            ManifestError(file: file, line: line, field: nil, message: "invalid YAML: \(message)")
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = problem
            if let context { message += " (\(context.text) at line \(context.mark.line))" }
            return make(mark.line, message)
        case .reader(let problem, let offset, _, _):
            let line = offset.map { text.prefix($0).reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }
            return make(line, problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return make(context.mark.line, "key \(keys) appears more than once in the same mapping")
        default:
            return make(nil, "\(error)")
        }
    }

    /// A commit sha shortened to 12 characters; other ids as they are.
    static func shortID(_ id: String) -> String {
        let isSHA = id.count >= 40 && id.allSatisfy(\.isHexDigit)
        return isSHA ? String(id.prefix(12)) : id
    }
}

extension ManifestReader {
    /// The first problem by line, carrying the others.
    var firstProblem: ManifestError? {
        let sorted = problems.enumerated().sorted { a, b in
            (a.element.line ?? 0, a.offset) < (b.element.line ?? 0, b.offset)
        }.map(\.element)
        guard var first = sorted.first else { return nil }
        first.others = Array(sorted.dropFirst())
        return first
    }

    mutating func approval(_ field: ManifestField) -> Bool? {
        guard case .scalar(let scalar) = field.value else {
            report(field.value, field.path, "must be required, true or false, not \(field.value.kindName)")
            return nil
        }
        switch scalar.string.lowercased() {
        case "required", "true", "yes": return true
        case "false", "no": return false
        default:
            report(line: field.line, field.path, "'\(scalar.string)' is not one of required, true, false")
            return nil
        }
    }

    mutating func failurePolicy(_ field: ManifestField) -> ReleaseFailurePolicy? {
        let choices = "rollback, stop, continue"
        guard case .scalar(let scalar) = field.value else {
            report(field.value, field.path, "must be one of \(choices), not \(field.value.kindName)")
            return nil
        }
        guard let policy = ReleaseFailurePolicy(rawValue: scalar.string.lowercased()) else {
            report(line: field.line, field.path, "'\(scalar.string)' is not one of \(choices)")
            return nil
        }
        return policy
    }
}
