import ChildProcess
import Foundation
import Testing

@Suite struct ChildProcessTests {
    @Test func inputOutputAndStatus() async throws {
        let output = try await ChildProcess.shell("tr a-z A-Z; echo oops >&2; exit 3", timeout: .seconds(60)).run(input: Data("hello".utf8))
        #expect(String(decoding: output.stdout, as: UTF8.self) == "HELLO")
        #expect(String(decoding: output.stderr, as: UTF8.self) == "oops\n")
        #expect(output.status == 3)
        #expect(!output.signalled)
    }

    /// A child that exits without reading a large input: no SIGPIPE can reach the server (the
    /// input is a file, not a pipe), and the run reports the child's own status.
    @Test func aChildThatIgnoresItsInput() async throws {
        let output = try await ChildProcess.shell("exit 0", timeout: .seconds(60)).run(input: Data(count: 4 << 20))
        #expect(output.status == 0)
    }

    @Test func outputIsCutAtItsLimitAndErrorKeepsItsEnd() async throws {
        var child = ChildProcess.shell("head -c 100000 /dev/zero; printf 'x%.0s' $(seq 1 300) >&2; echo END >&2", timeout: .seconds(60))
        child.outputLimit = 1000
        child.errorLimit = 10
        let output = try await child.run()
        #expect(output.stdout.count == 1000)
        #expect(String(decoding: output.stderr, as: UTF8.self) == "xxxxxxEND\n")
    }

    @Test func aSignalIsReported() async throws {
        let output = try await ChildProcess.shell("kill -9 $$", timeout: .seconds(60)).run()
        #expect(output.signalled)
        #expect(output.status == 9)
    }

    @Test func aMissingExecutableCannotStart() async throws {
        await #expect(throws: ChildProcess.Failure.self) {
            try await ChildProcess(executable: URL(fileURLWithPath: "/nonexistent/x"), arguments: [], timeout: .seconds(5)).run()
        }
    }

    /// At the limit the whole group goes: the child and the grandchild it left behind, which
    /// would otherwise outlive it (its pid is written to a file to be checked).
    @Test func theTimeLimitStopsTheGroup() async throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).pid")
        defer { try? FileManager.default.removeItem(at: pidFile) }
        var child = ChildProcess.shell("sleep 900 & echo $! > '\(pidFile.path)'; echo started >&2; wait", timeout: .milliseconds(500))
        child.grace = .milliseconds(200)
        do {
            _ = try await child.run()
            Issue.record("a child sleeping 900 s finished within 0.5 s")
        } catch {
            guard case .timedOut(let stderr) = error else { Issue.record("\(error)"); return }
            #expect(String(decoding: stderr, as: UTF8.self) == "started\n")
        }
        let grandchild = try #require(Int32(String(decoding: try Data(contentsOf: pidFile), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        // Signalled at once; reaped by init a moment later.
        var alive = true
        for _ in 0..<200 where alive {
            alive = kill(grandchild, 0) == 0 && !Self.isZombie(grandchild)
            if alive { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(!alive, "the grandchild \(grandchild) outlived the time limit")
    }

    /// Cancelled once it runs (it says so in a file): the child is killed and the run ends.
    @Test func cancellingKillsTheChild() async throws {
        let started = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).started")
        defer { try? FileManager.default.removeItem(at: started) }
        let task = Task { try await ChildProcess.shell("touch '\(started.path)'; sleep 900", timeout: .seconds(900)).run() }
        let limit = ContinuousClock.now + .seconds(120)
        while !FileManager.default.fileExists(atPath: started.path), ContinuousClock.now < limit { await Task.yield() }
        #expect(FileManager.default.fileExists(atPath: started.path), "the child did not start")
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("a cancelled child sleeping 900 s finished")
        } catch let error as ChildProcess.Failure {
            guard case .cancelled = error else { Issue.record("\(error)"); return }
        }
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }
}
