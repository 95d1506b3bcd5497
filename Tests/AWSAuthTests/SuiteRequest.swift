import Foundation

/// A raw HTTP request of the suite, in request-line form.
struct SuiteRequest: Sendable {
    var method: String
    /// The path as written in the request line (it may hold raw spaces and UTF-8).
    var path: String
    var query: String
    var headers: [(String, String)]
    var body: [UInt8]

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses `METHOD target HTTP/1.1`, then `Name:value` lines, then an empty line and the
    /// body. The target may contain spaces (`GET /example space/ HTTP/1.1`): it runs from
    /// the first space to the last. A line starting with whitespace continues the header
    /// before it; the suite (`get-header-value-multiline`) treats each such line as one
    /// more value of that header, so it is added as a repeat of the header.
    static func parse(_ text: String) throws -> SuiteRequest {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        guard let requestLine = lines.first,
              let firstSpace = requestLine.firstIndex(of: " "),
              let lastSpace = requestLine.lastIndex(of: " "), firstSpace < lastSpace else {
            throw ParseError(description: "bad request line")
        }
        let method = String(requestLine[..<firstSpace])
        let target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        let path: String
        let query: String
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            query = String(target[target.index(after: mark)...])
        } else {
            path = target
            query = ""
        }

        var headers: [(String, String)] = []
        var index = 1
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            index += 1
            if line.first == " " || line.first == "\t" {
                guard let last = headers.last else { throw ParseError(description: "continuation without header") }
                headers.append((last.0, line.trimmingCharacters(in: .whitespaces)))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw ParseError(description: "bad header \(line)") }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        let body = index < lines.count ? lines[(index + 1)...].joined(separator: "\n") : ""
        return SuiteRequest(method: method, path: path, query: query, headers: headers, body: Array(body.utf8))
    }

    /// A copy without the headers named `name` (any case).
    func removingHeader(_ name: String) -> SuiteRequest {
        var copy = self
        copy.headers.removeAll { $0.0.lowercased() == name.lowercased() }
        return copy
    }

    /// A copy whose headers named `name` hold `value`.
    func settingHeader(_ name: String, _ value: String) -> SuiteRequest {
        var copy = self
        copy.headers = copy.headers.map { $0.0.lowercased() == name.lowercased() ? ($0.0, value) : $0 }
        return copy
    }
}
