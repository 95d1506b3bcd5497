import Foundation

/// The text transformations of Signature Version 4: URI encoding, path normalisation, the
/// canonical query string and canonical headers, and the timestamp formats.
enum SigV4Encoding {
    /// Percent-encodes every byte of the UTF-8 form except the unreserved characters
    /// (`A-Z a-z 0-9 - _ . ~`), and `/` too when `keepSlash` is set. Hex digits are upper case.
    static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
    }

    /// Removes empty, `.` and `..` segments (RFC 3986 dot-segment removal, with runs of
    /// slashes collapsed), keeping a trailing slash. Services other than S3 expect this.
    static func normalizedPath(_ path: String) -> String {
        let rawSegments = path.split(separator: "/", omittingEmptySubsequences: false)
        var kept: [Substring] = []
        for segment in rawSegments {
            switch segment {
            case "", ".": continue
            case "..": _ = kept.popLast()
            default: kept.append(segment)
            }
        }
        if kept.isEmpty { return "/" }
        let last = rawSegments.last ?? ""
        let trailingSlash = last.isEmpty || last == "." || last == ".."
        return "/" + kept.joined(separator: "/") + (trailingSlash ? "/" : "")
    }

    /// The canonical URI: the path as it stands in the request line (already percent-encoded
    /// on the wire), normalised, then URI-encoded once more. Encoding the sent path again is
    /// what AWS services other than S3 do ("each path segment URI-encoded twice").
    static func canonicalURI(_ path: String) -> String {
        uriEncode(normalizedPath(path), keepSlash: true)
    }

    /// The canonical query string: parameters decoded, encoded strictly, sorted by name and
    /// then value (byte order of the encoded form), joined with `&`. A parameter without `=`
    /// gets an empty value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(name: String, value: String)] = []
        for item in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            pairs.append((uriEncode(name, keepSlash: false), uriEncode(value, keepSlash: false)))
        }
        pairs.sort { lhs, rhs in
            if lhs.name != rhs.name { return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8) }
            return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
        }
        return pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    private static func decode(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }

    /// Canonical headers and the signed-header list: names lower-cased, values trimmed with
    /// inner runs of whitespace collapsed to one space, repeated names joined with `,` in
    /// the order given, sorted by name.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (text: String, signedHeaders: String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            values[name.lowercased(), default: []].append(collapseWhitespace(value))
        }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let text = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (text, names.joined(separator: ";"))
    }

    static func collapseWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .joined(separator: " ")
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }()

    /// `20150830T123600Z`.
    static func timestamp(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return pad(c.year!, 4) + pad(c.month!, 2) + pad(c.day!, 2) + "T"
            + pad(c.hour!, 2) + pad(c.minute!, 2) + pad(c.second!, 2) + "Z"
    }

    /// `20150830T123600Z` read back; nil when it is not one.
    static func parseTimestamp(_ text: String) -> Date? {
        let digits = Array(text.utf8)
        guard digits.count == 16, digits[8] == UInt8(ascii: "T"), digits[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: digits[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8), let hour = number(9..<11),
              let minute = number(11..<13), let second = number(13..<15) else { return nil }
        let date = utc.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
        // A date that does not exist (month 13) comes back changed: refused.
        return date.flatMap { timestamp($0) == text ? $0 : nil }
    }

    /// `20150830`.
    static func dateStamp(_ date: Date) -> String {
        String(timestamp(date).prefix(8))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out = [UInt8]()
        for byte in bytes {
            out.append(lowerHexDigit(byte >> 4))
            out.append(lowerHexDigit(byte & 0x0F))
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func lowerHexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
