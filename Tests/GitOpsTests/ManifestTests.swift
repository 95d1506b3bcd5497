import Engine
import Foundation
import Testing
@testable import GitOps

@Suite struct ManifestTests {
    let sha = "0123456789abcdef0123456789abcdef01234567"

    func parse(_ text: String, file: String = "deployment.yaml") throws(ManifestError) -> ReleaseRequest {
        try Manifest.parse(text, file: file, releaseID: sha)
    }

    /// The error a manifest is refused with (fails the test when it is accepted).
    func problem(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ManifestError? {
        do {
            let release = try parse(text)
            Issue.record("accepted: \(release)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func seedSampleParsesAsWritten() throws {
        let origin = ReleaseOrigin(commit: sha, author: "Ana Lima <ana@example.com>", message: "Release 4.0.0", path: "deployment.yaml")
        let release = try Manifest.parse(Samples.seed, releaseID: sha, origin: origin)
        #expect(release.id == sha)
        #expect(release.name == "deployment.yaml@0123456789ab")
        #expect(release.requireApproval == false)
        #expect(release.onFailure == .rollback)
        #expect(release.maxParallel == nil)
        #expect(release.origin == origin)
        #expect(release.requestedBy == "Ana Lima <ana@example.com>")
        #expect(release.entries == [
            ReleaseEntry(kind: .scheduledTask, label: "rating-cleanup", ruleName: "test-rating-cleanup",
                         image: "11111111111.dkr.ecr.us-west-2.amazonaws.com/rating-cleanup:2.0.0", source: "deployment.yaml:2"),
            ReleaseEntry(kind: .service, label: "service-a", cluster: "test-Cluster-0IEYQ2GqGmL7",
                         service: "test-movie-info-service-Service-TALkUbJVrBgS",
                         image: "11111111111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service:4.0.0", source: "deployment.yaml:6"),
        ])
    }

    @Test func everyOptionIsRead() throws {
        let text = """
        release: spring-release       # a comment
        approval: required
        onFailure: continue
        maxParallel: 50
        tasks:
          - service: rating-cleanup
            cwRuleName: test-rating-cleanup
            image: "1111.dkr.ecr.us-west-2.amazonaws.com/rating-cleanup:2.0.0"
            containerName: app
            wave: 1
        services:
          - service: service-a
            clusterName: test-Cluster
            serviceName: movie-info
            image: "1111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service@sha256:abcd"
            containerName: web
            strategy: canary
            config: {canary_stages: "50,100", require_approval: true, batch_size: 25}
            wave: 2
          - service: service-b
            clusterName: arn:aws:ecs:us-east-1:1111:cluster/test-Cluster
            serviceName: other
            image: registry.example.com/other
            strategy: Blue-Green
            config:
              timeout: 5m
        """
        let release = try Manifest.parse(text, file: "deploy/prod.yaml", releaseID: "r-1", requestedBy: "ci")
        #expect(release.name == "spring-release")
        #expect(release.requireApproval)
        #expect(release.onFailure == .continue)
        #expect(release.maxParallel == 50)
        #expect(release.requestedBy == "ci")
        #expect(release.entries.map(\.kind) == [.scheduledTask, .service, .service])
        let task = release.entries[0]
        #expect(task.containerName == "app" && task.wave == 1 && task.source == "deploy/prod.yaml:6")
        let a = release.entries[1]
        #expect(a.strategy == .canary)
        #expect(a.containerName == "web")
        #expect(a.config == ["canary_stages": "50,100", "require_approval": "true", "batch_size": "25"])
        #expect(a.wave == 2)
        #expect(a.source == "deploy/prod.yaml:12")
        let b = release.entries[2]
        #expect(b.strategy == .bluegreen)
        #expect(b.config == ["timeout": "5m"])
        #expect(b.image == "registry.example.com/other")
    }

    @Test(arguments: [
        ("required", true), ("true", true), ("yes", true), ("false", false), ("no", false), ("", false),
    ])
    func approvalValues(value: String, expected: Bool) throws {
        let release = try parse("approval: \(value)\n" + Samples.seed)
        #expect(release.requireApproval == expected)
    }

    @Test func failurePolicies() throws {
        for policy in ["rollback", "stop", "continue", "Stop"] {
            let release = try parse("onFailure: \(policy)\n" + Samples.seed)
            #expect(release.onFailure.rawValue == policy.lowercased())
        }
    }

    @Test func missingFieldNamesEntryAndLine() {
        let text = """
        release: r
        services:
          - service: a
            clusterName: prod
            serviceName: svc-a
            image: "r/a:1"
          - service: b
            clusterName: prod
            serviceName: svc-b
        """
        let error = problem(text)
        #expect(error?.description == "deployment.yaml:7: services[1].image: is required")
        #expect(error?.line == 7)
        #expect(error?.field == "services[1].image")
        #expect(error?.message == "is required")
    }

    /// A service's size (`cpu`, `memory`) as a task definition writes it; anything else, or a
    /// size past any task, names the field and the line; scheduled tasks have none.
    @Test func taskSizes() throws {
        let entry = "  - service: b\n    clusterName: c\n    serviceName: s\n    image: r/b:1\n"
        let sized = try #require(try parse(Samples.seed + entry + "    cpu: \"1 vCPU\"\n    memory: 2048\n").entries.last)
        #expect(sized.cpu == "1 vCPU" && sized.memory == "2048")
        #expect(problem(Samples.seed + entry + "    memory: lots\n")?.singleLine
            == "deployment.yaml:14: services[1].memory: 'lots' is not a task memory (e.g. 512, 2048 or \"2 GB\")")
        #expect(problem(Samples.seed + entry + "    cpu: 1e309\n")?.singleLine
            == "deployment.yaml:14: services[1].cpu: '1e309' is not a task cpu (e.g. 256, 1024 or \"1 vCPU\")")
        #expect(problem(Samples.seed + entry + "    memory: \"99999 GB\"\n") != nil)
        #expect(problem("tasks:\n  - service: t\n    cwRuleName: r\n    image: r/t:1\n    cpu: 256\n")?.singleLine.contains("cpu and memory belong to services") == true)
    }

    /// A service's `alarms:` and `analysis:` lists stand for the `config:` keys of the same name.
    @Test func alarmsAndAnalysisLists() throws {
        let text = Samples.seed + "  - service: b\n    clusterName: c\n    serviceName: s\n    image: r/b:1\n"
            + "    alarms: [b-5xx, b-latency]\n    analysis: error-rate\n"
        let entry = try #require(try parse(text).entries.last)
        #expect(entry.config == ["alarms": "b-5xx,b-latency", "analysis": "error-rate"])
        let twice = problem(text + "    config: {alarms: x}\n")
        #expect(twice?.singleLine == "deployment.yaml:14: services[1].alarms: is given twice: here and in config.alarms", "\(String(describing: twice))")
        let nested = problem(Samples.seed + "  - service: b\n    clusterName: c\n    serviceName: s\n    image: r/b:1\n    alarms: [[x]]\n")
        #expect(nested?.singleLine == "deployment.yaml:14: services[1].alarms[0]: must be a name, not a list", "\(String(describing: nested))")
    }

    @Test func badMaxParallel() {
        let error = problem("release: x\napproval: false\nmaxParallel: x\n" + Samples.seed)
        #expect(error?.description == "deployment.yaml:3: maxParallel: 'x' is not a positive integer")
        #expect(problem("maxParallel: 0\n" + Samples.seed)?.description == "deployment.yaml:1: maxParallel: '0' is not a positive integer")
    }

    @Test func unknownStrategy() {
        let text = Samples.three("1") + "    strategy: yolo\n"
        let error = problem(text)
        #expect(error?.line == 15)
        #expect(error?.field == "services[2].strategy")
        #expect(error?.message.hasPrefix("unknown strategy 'yolo'") == true)
    }

    @Test func unknownKeyWithSuggestion() {
        let text = Samples.seed + "  - service: b\n    clusterName: c\n    serviceName: s\n    imgae: r/b:1\n"
        let error = problem(text)
        #expect(error?.all.map(\.singleLine) == [
            "deployment.yaml:10: services[1].image: is required",
            "deployment.yaml:13: services[1]: unknown key 'imgae' (did you mean 'image'?)",
        ])
        let top = problem("servics:\n  - service: x\n")
        #expect(top?.description.hasPrefix("deployment.yaml:1: unknown key 'servics' (did you mean 'services'?)") == true)
        let snake = problem(Samples.seed + "  - service: b\n    cluster_name: c\n")
        #expect(snake?.all.contains { $0.message == "unknown key 'cluster_name' (did you mean 'clusterName'?)" } == true)
        let task = problem("tasks:\n  - service: t\n    cwRuleName: r\n    image: i:1\n    strategy: canary\n")
        #expect(task?.singleLine.hasPrefix("deployment.yaml:5: tasks[0]: unknown key 'strategy' (scheduled tasks") == true)
    }

    @Test func syntaxErrorKeepsItsLine() {
        let text = "services:\n  - service: a\n    image: \"r/a:1\n    clusterName: x\n"
        let error = problem(text)
        #expect(error?.file == "deployment.yaml")
        #expect(error?.field == nil)
        #expect(error?.message.hasPrefix("invalid YAML: ") == true)
        #expect(error?.line != nil)
        let bad = problem("services:\n  - service: a\n   image: b\n")
        #expect(bad?.line == 3)
        #expect(bad?.description.hasPrefix("deployment.yaml:3: invalid YAML:") == true)
    }

    @Test func repeatedYAMLKey() {
        let error = problem("services:\n  - service: a\n    image: r/a:1\n    image: r/a:2\n")
        #expect(error?.message.contains("'image' appears more than once") == true)
        #expect(error?.line == 3 || error?.line == 4)
    }

    @Test func duplicateEntriesNameBothLines() {
        let text = Samples.three("1") + """
          - service: a-again
            clusterName: arn:aws:ecs:us-east-1:1111:cluster/prod
            serviceName: svc-a
            image: r/a:2
        tasks:
          - service: t1
            cwRuleName: rule-1
            image: r/t:1
          - service: t2
            cwRuleName: rule-1
            image: r/t:2
        """
        let error = problem(text)
        let lines = error?.all.map(\.singleLine) ?? []
        #expect(lines == [
            "deployment.yaml:15: services[3]: deploys the same cluster 'arn:aws:ecs:us-east-1:1111:cluster/prod' and service 'svc-a' as services[0] at line 3",
            "deployment.yaml:23: tasks[1]: deploys the same rule 'rule-1' as tasks[0] at line 20",
        ])
    }

    @Test func emptyValuesAreRefused() {
        let error = problem(Samples.seed.replacingOccurrences(of: "\"11111111111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service:4.0.0\"", with: "\"\""))
        #expect(error?.description == "deployment.yaml:9: services[0].image: must not be empty")
        let null = problem(Samples.seed.replacingOccurrences(of: "serviceName: test-movie-info-service-Service-TALkUbJVrBgS", with: "serviceName:"))
        #expect(null?.description == "deployment.yaml:8: services[0].serviceName: must not be empty")
        let spaced = problem(Samples.seed.replacingOccurrences(of: "rating-cleanup:2.0.0", with: "rating cleanup:2.0.0"))
        #expect(spaced?.line == 4)
        #expect(spaced?.message.contains("contains spaces") == true)
    }

    @Test func configIsCheckedByTheEngineSettings() {
        let text = Samples.seed + "    strategy: canary\n    config:\n      canary_stages: \"50,90\"\n      timeout: forever\n      colour: blue\n"
        let all = problem(text)?.all ?? []
        #expect(all.count == 3)
        #expect(all.map(\.field) == ["services[0].config.canary_stages", "services[0].config.timeout", "services[0].config.colour"])
        #expect(all.map(\.line) == [12, 13, 14])
        #expect(all[0].message == "the last stage must be 100, not 90")
        #expect(all[1].message == "'forever' is not a duration (e.g. 30s, 5m, 1h) up to 3650d")
        #expect(all[2].message.hasPrefix("unknown key (known keys: "))
        let nested = problem(Samples.seed + "    config:\n      timeout: {a: 1}\n      batch_size:\n")
        #expect(nested?.all.map(\.singleLine) == [
            "deployment.yaml:11: services[0].config.timeout: must be a string, number or boolean, not a mapping",
            "deployment.yaml:12: services[0].config.batch_size: needs a value",
        ])
        #expect(problem(Samples.seed + "    config: [a, b]\n")?.singleLine
            == "deployment.yaml:10: services[0].config: must be a mapping of keys to values, not a list")
    }

    @Test func wholeFileProblems() {
        #expect(problem("")?.description == "deployment.yaml: is empty: expected a 'services:' or 'tasks:' list")
        #expect(problem("# nothing\n")?.line == nil)
        #expect(problem("- a\n- b\n")?.description == "deployment.yaml:1: must be a mapping (key: value lines), not a list")
        #expect(problem("release: x\nservices: []\n")?.description
            == "deployment.yaml:1: no entries to release: add a 'services:' or 'tasks:' list")
        #expect(problem("services:\ntasks:\n")?.message == "no entries to release: add a 'services:' or 'tasks:' list")
        #expect(problem("services: web\n")?.singleLine.hasPrefix("deployment.yaml:1: services: must be a list of entries") == true)
        #expect(problem("services:\n  - web\n")?.singleLine == "deployment.yaml:2: services[0]: must be a mapping (key: value lines), not a scalar")
        let big = String(repeating: "#", count: Manifest.maxBytes + 1)
        #expect(problem(big)?.message.hasSuffix("the limit is \(Manifest.maxBytes)") == true)
    }

    @Test func otherFieldErrors() {
        #expect(problem("approval: maybe\n" + Samples.seed)?.singleLine
            == "deployment.yaml:1: approval: 'maybe' is not one of required, true, false")
        #expect(problem("onFailure: panic\n" + Samples.seed)?.singleLine
            == "deployment.yaml:1: onFailure: 'panic' is not one of rollback, stop, continue")
        #expect(problem(Samples.seed + "    wave: -1\n")?.singleLine
            == "deployment.yaml:10: services[0].wave: '-1' is not a wave number (a whole number from 0)")
        #expect(problem(Samples.seed + "    containerName: [a]\n")?.singleLine
            == "deployment.yaml:10: services[0].containerName: must be a string, not a list")
        #expect(problem("release: [a]\n" + Samples.seed)?.singleLine == "deployment.yaml:1: release: must be a string, not a list")
    }

    @Test func everyProblemIsReportedInLineOrder() {
        let text = """
        maxParallel: many
        services:
          - service: a
            clusterName: prod
            image: r/a:1
            strategy: yolo
          - service: b
            serviceName: b
            clusterName: prod
            image: r/b:1
            wave: x
        """
        let error = problem(text)
        #expect(error?.all.map(\.line) == [1, 3, 6, 11])
        #expect(error?.all.map(\.field) == ["maxParallel", "services[0].serviceName", "services[0].strategy", "services[1].wave"])
        #expect(error?.description.split(separator: "\n").count == 4)
    }

    @Test func errorMapsToInvalidArgument() {
        let error = problem("maxParallel: x\n" + Samples.seed)
        let engine = error?.engineError
        #expect(engine?.kind == .invalidArgument)
        #expect(engine?.field == "maxParallel")
        #expect(engine?.message == "deployment.yaml:1: maxParallel: 'x' is not a positive integer")
    }

    @Test func deletedManifestIsNoRelease() throws {
        let change = ManifestChange(commit: sha, author: "A <a@x>", subject: "remove", date: Date(), path: "deployment.yaml", text: nil)
        #expect(throws: ManifestError.self) { try change.release() }
        do {
            _ = try change.release()
        } catch {
            #expect(error.description == "deployment.yaml: was deleted in commit 0123456789ab: nothing to release")
        }
        let kept = ManifestChange(commit: sha, author: "A <a@x>", subject: "ship", date: Date(), path: "deployment.yaml", text: Samples.seed)
        #expect(try kept.release().origin == kept.origin)
    }

    @Test func suggestions() {
        #expect(KeySuggestion.closest(to: "imgae", in: ManifestEntryKeys.service) == "image")
        #expect(KeySuggestion.closest(to: "ServiceName", in: ManifestEntryKeys.service) == "serviceName")
        #expect(KeySuggestion.closest(to: "zzzzzzzz", in: ManifestEntryKeys.service) == nil)
        #expect(Manifest.shortID("r-1") == "r-1")
    }
}
