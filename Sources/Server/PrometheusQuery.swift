import AsyncHTTPClient
import Engine
import Foundation
import NIOCore

/// Answers analysis templates from a Prometheus server's HTTP API (`GET /api/v1/query`, and
/// `/api/v1/query_range` for Mann-Whitney comparisons), with
/// the configured bearer token or basic auth. An instant query must come to one number: a
/// scalar, or a vector of one series (aggregate it with `sum`, `avg`, ...); no series is no
/// data (inconclusive). Errors name the status or Prometheus's own error, never the secret.
struct PrometheusQuery: MetricsProvider {
    let settings: PrometheusSettings?
    let client: HTTPClient

    struct QueryError: Error, CustomStringConvertible {
        let description: String
    }

    func value(of query: String, provider: AnalysisTemplate.Provider) async throws -> Double? {
        try Self.number(try await ask("query", ["query": query]))
    }

    /// A range query (`GET /api/v1/query_range`): the values of its one series, oldest first.
    func samples(of query: String, start: Date, end: Date, step: Duration) async throws -> [Double] {
        let data = try await ask("query_range", [
            "query": query, "start": String(start.timeIntervalSince1970), "end": String(end.timeIntervalSince1970),
            "step": String(step.seconds),
        ])
        guard data.resultType == "matrix" else {
            throw QueryError(description: "the range query returned a \(data.resultType), not a matrix")
        }
        guard case .series(let series)? = data.result, !series.isEmpty else { return [] }
        guard series.count == 1 else {
            throw QueryError(description: "the query returned \(series.count) series; aggregate it to one (sum, avg, max)")
        }
        return (series[0].values ?? []).compactMap { Double($0.value) }
    }

    /// GETs `/api/v1/<endpoint>` with the parameters, with the configured credentials; answers
    /// Prometheus's `data`.
    private func ask(_ endpoint: String, _ parameters: KeyValuePairs<String, String>) async throws -> Answer.Data {
        guard let settings else { throw QueryError(description: "analysis.prometheus is not configured") }
        guard var components = URLComponents(string: settings.url) else {
            throw QueryError(description: "analysis.prometheus.url is not a URL")
        }
        let base = components.path
        components.path = base.trimmingSuffix("/") + "/api/v1/" + endpoint
        // Everything but unreserved characters escaped: a `+` in PromQL must not read as a space.
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        components.percentEncodedQuery = parameters.map { "\($0.key)=" + ($0.value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "") }
            .joined(separator: "&")
        guard let url = components.url?.absoluteString else { throw QueryError(description: "analysis.prometheus.url is not a URL") }
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        if let token = settings.bearerToken {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        } else if let user = settings.username {
            let pair = Data("\(user):\(settings.password ?? "")".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(pair)")
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .nanoseconds(Int64(settings.timeout.seconds * 1e9)))
        } catch {
            throw QueryError(description: "Prometheus could not be reached (\(type(of: error)))")
        }
        let body = Data((try await response.body.collect(upTo: 4 << 20)).readableBytesView)
        let answer = try? JSONDecoder().decode(Answer.self, from: body)
        guard response.status == .ok, let answer, answer.status == "success", let data = answer.data else {
            let reason = answer?.error.map { ": \(String($0.prefix(200)))" } ?? ""
            throw QueryError(description: "Prometheus answered HTTP \(response.status.code)\(reason)")
        }
        return data
    }

    static func number(_ data: Answer.Data) throws -> Double? {
        switch data.resultType {
        case "scalar":
            guard case .sample(let sample)? = data.result else { return nil }
            return Double(sample.value)
        case "vector":
            guard case .series(let series)? = data.result else { return nil }
            if series.isEmpty { return nil }
            guard series.count == 1 else {
                throw QueryError(description: "the query returned \(series.count) series; aggregate it to one (sum, avg, max)")
            }
            guard let sample = series[0].value else { return nil }
            return Double(sample.value)
        default:
            throw QueryError(description: "the query returned a \(data.resultType), not a number (use an instant vector or a scalar)")
        }
    }

    struct Answer: Decodable {
        struct Sample: Decodable {
            let value: String
            init(from decoder: any Decoder) throws {
                var c = try decoder.unkeyedContainer()
                _ = try c.decode(Double.self)
                value = try c.decode(String.self)
            }
        }

        /// A vector's series has one `value`; a matrix's has `values`.
        struct Series: Decodable {
            let value: Sample?
            let values: [Sample]?
        }

        enum Result: Decodable {
            case sample(Sample)
            case series([Series])
            init(from decoder: any Decoder) throws {
                if let series = try? [Series](from: decoder) { self = .series(series); return }
                self = .sample(try Sample(from: decoder))
            }
        }

        struct Data: Decodable {
            let resultType: String
            let result: Result?
        }

        let status: String
        let data: Data?
        let error: String?
    }
}

private extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
