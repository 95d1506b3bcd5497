import CloudModel
import Foundation
import Logging

/// Keeps the credentials of another provider and fetches new ones before they expire.
///
/// - Credentials without an expiration are kept for good (until `invalidate()`).
/// - Temporary credentials are refreshed `refreshBefore` ahead of their expiration (five
///   minutes by default), or halfway through their life when that is shorter.
/// - Concurrent callers share one refresh.
/// - When a refresh fails while the kept credentials still have not expired, those are
///   returned (and the failure logged) and the refresh is tried again 30 seconds later;
///   once they have expired, the failure is thrown.
/// Time comes from the injected clock.
public actor CachingCredentialProvider: CredentialProvider {
    private let provider: any CredentialProvider
    private let clock: any DeployClock
    private let refreshBefore: Duration
    private let logger: Logger

    private var cached: AWSCredentials?
    private var refreshAt: Date?
    private var inFlight: (id: UInt64, task: Task<AWSCredentials, any Error>)?
    private var nextID: UInt64 = 0
    /// After a failed refresh with usable credentials kept, the next try waits this long.
    static let retryAfterFailure: Duration = .seconds(30)
    /// Callers waiting on a refresh that another caller started (for tests).
    private(set) var waitingCallers = 0
    /// How many refreshes were started (for tests).
    private(set) var refreshCount = 0

    public init(_ provider: any CredentialProvider, clock: any DeployClock, refreshBefore: Duration = .seconds(300),
                logger: Logger = Logger(label: "aws.credentials")) {
        self.provider = provider
        self.clock = clock
        self.refreshBefore = refreshBefore
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials {
        let now = clock.now()
        if let cached, !needsRefresh(at: now) { return cached }
        if let inFlight {
            waitingCallers += 1
            defer { waitingCallers -= 1 }
            return try await finish(inFlight.id, inFlight.task)
        }
        nextID += 1
        refreshCount += 1
        let provider = self.provider
        let task = Task<AWSCredentials, any Error> { try await provider.credentials() }
        inFlight = (nextID, task)
        return try await finish(nextID, task)
    }

    /// Drops the kept credentials, so the next call fetches new ones (for instance after
    /// AWS answered `ExpiredToken`).
    public func invalidate() {
        cached = nil
        refreshAt = nil
    }

    private func needsRefresh(at now: Date) -> Bool {
        guard let refreshAt else { return false }
        return now >= refreshAt
    }

    /// Awaits the refresh `task`; the first caller back records its outcome.
    private func finish(_ id: UInt64, _ task: Task<AWSCredentials, any Error>) async throws -> AWSCredentials {
        do {
            let fresh = try await task.value
            if inFlight?.id == id {
                inFlight = nil
                store(fresh)
            }
            return fresh
        } catch {
            if inFlight?.id == id { inFlight = nil }
            let now = clock.now()
            if let cached, let expiration = cached.expiration, now < expiration {
                if inFlight == nil { refreshAt = min(expiration, now.adding(Self.retryAfterFailure)) }
                logger.warning("refreshing AWS credentials failed; using the current ones until they expire", metadata: [
                    "source": "\(cached.source)", "expiration": "\(expiration)", "error": "\(error)",
                ])
                return cached
            }
            throw error
        }
    }

    private func store(_ credentials: AWSCredentials) {
        let now = clock.now()
        cached = credentials
        if let expiration = credentials.expiration {
            let early = expiration.adding(.zero - refreshBefore)
            let halfway = now.addingTimeInterval(max(0, expiration.timeIntervalSince(now)) / 2)
            refreshAt = max(early, halfway)
        } else {
            refreshAt = nil
        }
        logger.info("obtained AWS credentials", metadata: [
            "source": "\(credentials.source)",
            "expiration": "\(credentials.expiration.map { "\($0)" } ?? "none")",
        ])
    }
}
