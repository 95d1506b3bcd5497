import Foundation

extension ECSAPI {
    /// DescribeServices for any number of services, 10 a call (ECS's limit), in order.
    /// Missing services are left out, as with one call.
    public func describeServicesBatched(cluster: String, services: [String]) async throws -> [ECSService] {
        var result: [ECSService] = []
        for start in stride(from: 0, to: services.count, by: 10) {
            let batch = Array(services[start..<min(start + 10, services.count)])
            result += try await describeServices(cluster: cluster, services: batch)
        }
        return result
    }

    /// The ARNs of every service of the cluster, following ListServices' pages.
    public func listAllServices(cluster: String, maxPages: Int = 1000) async throws -> [String] {
        var arns: [String] = []
        var token: String?
        var pages = 0
        repeat {
            let page = try await listServices(cluster: cluster, nextToken: token)
            arns += page.serviceArns
            token = page.nextToken
            pages += 1
        } while token != nil && pages < maxPages
        return arns
    }
}
