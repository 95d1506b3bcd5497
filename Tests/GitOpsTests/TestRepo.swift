import Foundation
@testable import GitOps

/// A real git repository in a temporary folder, and a state folder for a source watching it.
final class TestRepo: @unchecked Sendable {
    let root: URL
    let work: URL
    let state: URL

    init(branch: String = "main") throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("gitops-test-\(UUID().uuidString)")
        work = root.appendingPathComponent("repo")
        state = root.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try git("init", "--quiet", "-b", branch)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func write(_ path: String, _ text: String) throws {
        let url = work.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Commits everything and answers the new commit's sha.
    @discardableResult
    func commit(_ message: String, author: String = "Ana Lima", email: String = "ana@example.com") throws -> String {
        try git("add", "-A")
        try git("-c", "user.name=\(author)", "-c", "user.email=\(email)", "commit", "--quiet", "--allow-empty", "-m", message)
        return try git("rev-parse", "HEAD")
    }

    /// Writes `text` to `path` and commits it.
    @discardableResult
    func commit(_ path: String, _ text: String, _ message: String) throws -> String {
        try write(path, text)
        return try commit(message)
    }

    @discardableResult
    func git(_ args: String...) throws -> String {
        try git(args)
    }

    @discardableResult
    func git(_ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + args
        process.currentDirectoryURL = work
        var env = ProcessInfo.processInfo.environment
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["LC_ALL"] = "C"
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestRepoError(message: "git \(args.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func source(repo: String? = nil, branch: String = "main", path: String = "deployment.yaml", releaseHead: Bool = true,
                timeout: Duration = .seconds(60), git: String? = nil) throws(GitError) -> GitSource {
        try GitSource(GitSourceConfiguration(repo: repo ?? work.path, branch: branch, path: path, stateDirectory: state,
                                             releaseHeadOnFirstPoll: releaseHead, commandTimeout: timeout, gitExecutable: git))
    }
}

struct TestRepoError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Sample manifests.
enum Samples {
    /// The sample `deployment.yaml` of the GitOps-on-ECS write-up, exactly as given there.
    static let seed = """
    tasks:
      - service: rating-cleanup
        cwRuleName: test-rating-cleanup
        image: "11111111111.dkr.ecr.us-west-2.amazonaws.com/rating-cleanup:2.0.0"
    services:
      - service: service-a
        clusterName: test-Cluster-0IEYQ2GqGmL7
        serviceName: test-movie-info-service-Service-TALkUbJVrBgS
        image: "11111111111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service:4.0.0"

    """

    /// Three services, all at `version`.
    static func three(_ version: String) -> String {
        """
        release: three-services
        services:
          - service: a
            clusterName: prod
            serviceName: svc-a
            image: "registry.example.com/a:\(version)"
          - service: b
            clusterName: prod
            serviceName: svc-b
            image: "registry.example.com/b:\(version)"
          - service: c
            clusterName: prod
            serviceName: svc-c
            image: "registry.example.com/c:\(version)"

        """
    }
}
