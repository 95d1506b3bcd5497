import Foundation

/// Real headless Chromium driven over the W3C WebDriver protocol (the one Selenium speaks) by
/// Debian's `chromedriver`, started on an ephemeral port for one test.
final class WebDriver: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let process: Process
    private let port: Int
    private let session: String

    /// The driver binary: `CHROMEDRIVER`, else chromedriver on the PATH (`.ci/run` installs it).
    static var driverPath: String? {
        if let path = ProcessInfo.processInfo.environment["CHROMEDRIVER"] { return path }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(dir)/chromedriver"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func start() async throws -> WebDriver {
        guard let driver = driverPath else {
            throw Failure(description: "chromedriver not found: apt-get install chromium chromium-driver (.ci/run installs them)")
        }
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: driver)
        process.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Ready when /status answers (a bound: the driver starts in well under a second).
        var ready = false
        for _ in 0..<200 where !ready {
            ready = (try? await HTTPGet.fetch(host: "127.0.0.1", port: port, path: "/status").status) == 200
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard ready else {
            process.terminate()
            throw Failure(description: "chromedriver did not start on port \(port)")
        }
        let capabilities: [String: Any] = ["capabilities": ["alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": ["args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                            "--window-size=1280,900"]],
        ]]]
        let answer = try await call(port: port, "POST", "/session", capabilities)
        guard let session = (answer as? [String: Any])?["sessionId"] as? String else {
            process.terminate()
            throw Failure(description: "no WebDriver session: \(answer)")
        }
        return WebDriver(process: process, port: port, session: session)
    }

    private init(process: Process, port: Int, session: String) {
        self.process = process
        self.port = port
        self.session = session
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: bound.sin_port))
    }

    /// One WebDriver command; its `value`, or a failure with the driver's error.
    @discardableResult
    static func call(port: Int, _ method: String, _ path: String, _ body: Any? = nil) async throws -> Any {
        let text = try body.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) } ?? ""
        let answer = try await HTTPGet.fetch(host: "127.0.0.1", port: port, path: path, method: method,
                                             headers: body == nil ? [:] : ["Content-Type": "application/json"], body: text)
        let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8), options: [.fragmentsAllowed]) as? [String: Any]
        let value = json?["value"] as Any
        if answer.status != 200 {
            let error = (value as? [String: Any]).map { "\($0["error"] ?? "?"): \($0["message"] ?? "")" } ?? answer.body
            throw Failure(description: "WebDriver \(method) \(path): \(answer.status) \(error)")
        }
        return value
    }

    @discardableResult
    func call(_ method: String, _ path: String, _ body: Any? = nil) async throws -> Any {
        try await Self.call(port: port, method, "/session/\(session)\(path)", body)
    }

    func open(_ url: String) async throws { try await call("POST", "/url", ["url": url]) }

    /// The element `css` selects, or nil.
    func element(_ css: String) async throws -> String? {
        do {
            let value = try await call("POST", "/element", ["using": "css selector", "value": css])
            return (value as? [String: Any])?.values.first as? String
        } catch let failure as Failure where failure.description.contains("no such element") {
            return nil
        }
    }

    func require(_ css: String) async throws -> String {
        guard let id = try await element(css) else { throw Failure(description: "no element \(css) on \(try await url())") }
        return id
    }

    func text(_ element: String) async throws -> String { try await call("GET", "/element/\(element)/text") as? String ?? "" }
    func click(_ element: String) async throws { try await call("POST", "/element/\(element)/click", [String: Any]()) }
    func type(_ element: String, _ text: String) async throws { try await call("POST", "/element/\(element)/value", ["text": text]) }
    func url() async throws -> String { try await call("GET", "/url") as? String ?? "" }
    func source() async throws -> String { try await call("GET", "/source") as? String ?? "" }
    func deleteCookies() async throws { try await call("DELETE", "/cookie") }
    func resize(width: Int, height: Int) async throws { try await call("POST", "/window/rect", ["width": width, "height": height]) }
    /// Runs `script` in the page (WebDriver's own channel, not the page's CSP) and answers its value.
    func run(_ script: String) async throws -> Any { try await call("POST", "/execute/sync", ["script": script, "args": [Any]()]) }

    /// A PNG of the window.
    func screenshot() async throws -> Data {
        let base64 = try await call("GET", "/screenshot") as? String ?? ""
        return Data(base64Encoded: base64) ?? Data()
    }

    /// Waits (up to `seconds` of real time: a bound, not a measure) until `condition` holds.
    func wait(seconds: Double = 30, _ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure(description: "gave up waiting for \(what) after \(Int(seconds))s on \(try await url())")
    }

    /// Ends the browser and the driver (polled: `waitUntilExit` would spin a run loop on a
    /// concurrency thread).
    func quit() async {
        _ = try? await Self.call(port: port, "DELETE", "/session/\(session)")
        process.terminate()
        for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
