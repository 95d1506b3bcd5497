import ClientCLI
import Foundation
import MotoHarness
import Testing

/// The built client as a user runs it: in a pipe that closes early, and asking for help.
@Suite struct ClientBinaryTests {
    @Test func aClosedOutputEndsTheClientQuietly() async throws {
        let t = try await TestServer(network: true)
        let client = ServerProcess.binaries.appendingPathComponent("grpc-client").path
        // `true` reads nothing and exits: every write of the client meets a closed pipe.
        let script = "'\(client)' -server 127.0.0.1:\(t.port) -action list 2>err.txt | true; echo \"${PIPESTATUS[0]}\"; cat err.txt"
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await offThePool { () -> String in
            let p = Process()
            let out = Pipe()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = ["-c", script]
            p.currentDirectoryURL = dir
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(result == "0\n", "exit status and standard error: \(result)")
        try await t.stop()
    }

    @Test func helpNamesTheProgram() async throws {
        let output = CapturedOutput()
        let code = await ClientCLI.run(["--help"], output: output)
        #expect(code == 0)
        #expect(output.outLines.joined(separator: "\n").contains("USAGE: grpc-client"), "\(output.outLines.prefix(5))")
    }
}
