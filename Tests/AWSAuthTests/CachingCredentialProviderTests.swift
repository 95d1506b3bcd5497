@testable import AWSAuth
import CloudModel
import Foundation
import Synchronization
import Testing
import TestSupport

@Suite("Credential caching and refresh")
struct CachingCredentialProviderTests {
    @Test func refreshesFiveMinutesBeforeExpiry() async throws {
        let clock = ManualClock()
        let inner = CountingProvider(clock: clock, lifetime: .seconds(3600))
        let cache = CachingCredentialProvider(inner, clock: clock)

        #expect(try await cache.credentials().accessKeyID == "ASIA1")
        clock.advance(by: .seconds(54 * 60))  // 6 minutes left
        #expect(try await cache.credentials().accessKeyID == "ASIA1")
        #expect(inner.calls == 1)
        clock.advance(by: .seconds(60 + 1))  // 4:59 left: inside the window
        #expect(try await cache.credentials().accessKeyID == "ASIA2")
        #expect(inner.calls == 2)
        // The new credentials live an hour from now.
        clock.advance(by: .seconds(50 * 60))
        #expect(try await cache.credentials().accessKeyID == "ASIA2")
        #expect(inner.calls == 2)
    }

    @Test func staticCredentialsAreKept() async throws {
        let clock = ManualClock()
        let inner = CountingProvider(clock: clock, lifetime: nil)
        let cache = CachingCredentialProvider(inner, clock: clock)
        for _ in 0..<3 {
            #expect(try await cache.credentials().accessKeyID == "ASIA1")
            clock.advance(by: .seconds(86_400 * 30))
        }
        #expect(inner.calls == 1)
        await cache.invalidate()
        #expect(try await cache.credentials().accessKeyID == "ASIA2")
    }

    /// Credentials that live less than the window are refreshed halfway through their life,
    /// not on every call.
    @Test func shortLivedCredentialsRefreshHalfway() async throws {
        let clock = ManualClock()
        let inner = CountingProvider(clock: clock, lifetime: .seconds(120))
        let cache = CachingCredentialProvider(inner, clock: clock)
        _ = try await cache.credentials()
        clock.advance(by: .seconds(59))
        _ = try await cache.credentials()
        #expect(inner.calls == 1)
        clock.advance(by: .seconds(1))
        _ = try await cache.credentials()
        #expect(inner.calls == 2)
    }

    @Test func concurrentCallersShareOneRefresh() async throws {
        let inner = GatedProvider()
        let cache = CachingCredentialProvider(inner, clock: ManualClock())
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<10 {
                group.addTask { try await cache.credentials().accessKeyID }
            }
            // Wait (without sleeping) until one caller is fetching and nine wait on it.
            while await cache.waitingCallers < 9 || inner.calls < 1 {
                await Task.yield()
            }
            inner.open()
            var keys: [String] = []
            for try await key in group { keys.append(key) }
            #expect(keys == Array(repeating: "ASIAGATED", count: 10))
        }
        #expect(inner.calls == 1)
        #expect(await cache.refreshCount == 1)
    }

    @Test func failedRefreshKeepsUnexpiredCredentials() async throws {
        let clock = ManualClock()
        let (logger, lines) = CapturingLogHandler.logger()
        let inner = CountingProvider(clock: clock, lifetime: .seconds(3600))
        let cache = CachingCredentialProvider(inner, clock: clock, logger: logger)
        _ = try await cache.credentials()
        clock.advance(by: .seconds(56 * 60))
        inner.setFailing(true)
        #expect(try await cache.credentials().accessKeyID == "ASIA1")
        #expect(inner.calls == 2)
        // The next try waits 30 seconds rather than hammering the source.
        clock.advance(by: .seconds(10))
        _ = try await cache.credentials()
        #expect(inner.calls == 2)
        clock.advance(by: .seconds(20))
        _ = try await cache.credentials()
        #expect(inner.calls == 3)
        // Once expired, the failure surfaces.
        clock.advance(by: .seconds(4 * 60))
        let error = try await #require(throws: CredentialError.self) { try await cache.credentials() }
        #expect(error == .failed(provider: "counting", reason: "told to fail"))
        // And it recovers when the source does.
        inner.setFailing(false)
        #expect(try await cache.credentials().accessKeyID.hasPrefix("ASIA"))
        #expect(lines.all.contains { $0.contains("refreshing AWS credentials failed") })
        #expect(lines.all.allSatisfy { Planted.leaks(in: $0).isEmpty }, "\(lines.all)")
    }

    @Test func firstFailureIsThrown() async throws {
        let clock = ManualClock()
        let inner = CountingProvider(clock: clock, lifetime: .seconds(3600))
        inner.setFailing(true)
        let cache = CachingCredentialProvider(inner, clock: clock)
        await #expect(throws: CredentialError.self) { try await cache.credentials() }
        inner.setFailing(false)
        #expect(try await cache.credentials().accessKeyID == "ASIA2")
    }
}
