import Engine
import Foundation

/// The one place where records become JSON and dates become column values, and back.
enum StoreCoding {
    /// Dates as `Date` holds them (seconds since 2001-01-01 UTC, a Double). SQLite's REAL is the
    /// same 8-byte float, so a stored date is exact, and SQL orders and compares the columns
    /// exactly as Swift compares the dates (no rounding to milliseconds). In the sqlite3 shell:
    /// `datetime(created_at + 978307200, 'unixepoch', 'subsec')`.
    static func column(_ date: Date) -> Double { date.timeIntervalSinceReferenceDate }

    static func date(_ column: Double) -> Date { Date(timeIntervalSinceReferenceDate: column) }

    private static let nonFinite = (positive: "+Infinity", negative: "-Infinity", nan: "NaN")

    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Dates in the JSON also stay exact: the Double itself, not an ISO string.
        encoder.dateEncodingStrategy = .deferredToDate
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFinite.positive, negativeInfinity: nonFinite.negative, nan: nonFinite.nan)
        return encoder
    }

    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.positive, negativeInfinity: nonFinite.negative, nan: nonFinite.nan)
        return decoder
    }

    static func encode(_ record: some Encodable) throws -> String {
        String(decoding: try makeEncoder().encode(record), as: UTF8.self)
    }

    static func decode(_ json: String, id: String) throws -> DeploymentRecord {
        do {
            return try makeDecoder().decode(DeploymentRecord.self, from: Data(json.utf8))
        } catch {
            throw StoreError.undecodableRecord(id: id, reason: "\(error)")
        }
    }

    static func decodeRelease(_ json: String, id: String) throws -> ReleaseRecord {
        try decodeReleasePart(ReleaseRecord.self, json, id: id)
    }

    /// A release, or a part of one (an entry, an event) stored apart.
    static func decodeReleasePart<T: Decodable>(_ type: T.Type, _ json: String, id: String) throws -> T {
        do {
            return try makeDecoder().decode(T.self, from: Data(json.utf8))
        } catch {
            throw StoreError.undecodableRelease(id: id, reason: "\(error)")
        }
    }
}
