import CloudModel
import Engine
import Foundation
import GitOps
import Logging
import ServiceLifecycle

/// Polls the GitOps repository and turns each commit that changed the manifest into a
/// release named by the commit sha. A broken manifest becomes a failed release record.
final class GitOpsService: Service, Sendable {
    let poller: GitPoller

    init(config: ServerConfig.GitOpsConfig, stateDirectory: URL, releases: ReleaseManager, access: AccessControl,
         clock: any DeployClock, logger: Logger) throws {
        let source = try GitSource(GitSourceConfiguration(repo: config.repo, branch: config.branch, path: config.path,
                                                          stateDirectory: stateDirectory))
        poller = GitPoller(source: source, interval: config.pollInterval, clock: clock, logger: logger) { event in
            await Self.handle(event, releases: releases, access: access, logger: logger)
        }
    }

    /// A commit's manifest is held to the same request policy as an API request (named hooks,
    /// allowed URLs, nothing loosened: a commit cannot override the server's policy).
    static func handle(_ event: GitPollEvent, releases: ReleaseManager, access: AccessControl, logger: Logger) async {
        switch event {
        case .change(let change):
            guard await !releases.contains(change.commit) else { return }
            let fallback = ReleaseRequest(id: change.commit, name: "\(change.path)@\(change.commit.prefix(12))", entries: [],
                                          origin: change.origin, requestedBy: change.author)
            do {
                let request = try change.release()
                try access.checkRelease(request, principal: nil, method: "gitops")
                _ = try await releases.submit(request)
            } catch let error as ManifestError {
                await releases.recordFailure(fallback, error: "\(error)")
            } catch {
                await releases.recordFailure(fallback, error: "\(error)")
            }
        case .polled:
            break
        case .failed(let error):
            logger.error("gitops poll failed: \(error)")
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.poller.run() }
    }

    /// `POST /hooks/git`: poll now.
    func trigger() { poller.triggerNow() }
}
