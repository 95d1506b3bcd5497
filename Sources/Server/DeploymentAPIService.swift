import Access
import DeployAPI
import Engine
import Foundation
import GRPCCore

/// The gRPC `DeploymentService`: validates requests, hands them to the engine, maps answers
/// and errors. It never calls the cloud.
struct DeploymentAPIService: Deployment_V1_DeploymentService.SimpleServiceProtocol {
    let engine: DeploymentEngine
    let releases: ReleaseManager
    let metrics: ServerMetrics
    let maxRequestBytes: Int
    let access: AccessControl
    /// Watch streams held open, per caller.
    let watches: PerCallerSlots

    func handle<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            let rpc = ProtoMapping.rpcError(error)
            metrics.error(component: "grpc", type: "\(rpc.code)")
            throw rpc
        }
    }

    func deploy(request: Deployment_V1_DeployRequest, context: ServerContext) async throws -> Deployment_V1_DeployResponse {
        try await handle {
            let size = try (request.serializedBytes() as [UInt8]).count
            guard size <= maxRequestBytes else {
                throw RPCError(code: .resourceExhausted,
                               message: "request is \(size) bytes; the limit is \(maxRequestBytes) (server.max_request_bytes)")
            }
            let caller = Self.caller(context)
            guard !request.cluster.trimmingCharacters(in: .whitespaces).isEmpty else { throw EngineError.invalid("cluster", "is required") }
            guard !request.service.trimmingCharacters(in: .whitespaces).isEmpty else { throw EngineError.invalid("service", "is required") }
            let scope = AccessPolicy.scope(cluster: request.cluster, service: request.service)
            let principal = try access.require(caller, .deploy, scopes: [scope])
            try access.checkSettings(request.config, field: "config", principal: principal, scope: scope, method: caller.method)
            let validated = try DeploymentRequest.validated(
                id: request.deploymentID, cluster: request.cluster, service: request.service, strategy: request.strategy,
                taskDefinition: request.taskDefinition, config: request.config,
                requestedBy: access.identity(principal, given: request.requestedBy))
            let (record, existing): (DeploymentRecord, Bool)
            do {
                (record, existing) = try await engine.submit(validated)
            } catch let error as EngineError where error.kind == .resourceExhausted {
                metrics.limitRefused(error.field ?? "")
                throw error
            }
            var response = Deployment_V1_DeployResponse()
            response.deployment = ProtoMapping.deployment(record)
            response.existing = existing
            return response
        }
    }

    /// The deployment `id` names, once the caller is allowed `permission` on its service.
    func authorized(_ id: String, _ permission: Permission, _ context: ServerContext) async throws -> (DeploymentRecord, Principal) {
        let record = try await engine.status(id: try Self.id(id))
        let principal = try access.require(Self.caller(context), permission, scopes: [Self.scope(of: record)])
        return (record, principal)
    }

    static func scope(of record: DeploymentRecord) -> String {
        AccessPolicy.scope(cluster: record.request.cluster, service: record.request.service)
    }

    static func caller(_ context: ServerContext) -> ServerContextView {
        ServerContextView(principal: context.principal, method: context.descriptor.method)
    }

    func getStatus(request: Deployment_V1_GetStatusRequest, context: ServerContext) async throws -> Deployment_V1_Deployment {
        try await handle { ProtoMapping.deployment(try await authorized(request.deploymentID, .view, context).0) }
    }

    func rollback(request: Deployment_V1_RollbackRequest, context: ServerContext) async throws -> Deployment_V1_Deployment {
        try await handle {
            let (record, principal) = try await authorized(request.deploymentID, .rollback, context)
            return ProtoMapping.deployment(try await engine.rollback(id: record.id, requestedBy: access.identity(principal, given: request.requestedBy),
                                                                     reason: request.reason))
        }
    }

    func approve(request: Deployment_V1_ApprovalRequest, context: ServerContext) async throws -> Deployment_V1_Deployment {
        try await handle {
            // Waiting for a deploy window: an admin's override (with a reason) starts it now.
            if try await engine.status(id: try Self.id(request.deploymentID)).status == .waitingWindow {
                let (record, principal) = try await authorized(request.deploymentID, .override, context)
                return ProtoMapping.deployment(try await engine.overrideWindow(id: record.id, by: access.identity(principal, given: request.approver),
                                                                               reason: request.reason))
            }
            let (record, principal) = try await authorized(request.deploymentID, .approve, context)
            let required = access.policy.requiredApprovals(for: [Self.scope(of: record)])
            return ProtoMapping.deployment(try await engine.approve(id: record.id, approver: access.identity(principal, given: request.approver),
                                                                    reason: request.reason, required: required))
        }
    }

    func reject(request: Deployment_V1_ApprovalRequest, context: ServerContext) async throws -> Deployment_V1_Deployment {
        try await handle {
            let (record, principal) = try await authorized(request.deploymentID, .approve, context)
            return ProtoMapping.deployment(try await engine.reject(id: record.id, approver: access.identity(principal, given: request.approver),
                                                                   reason: request.reason))
        }
    }

    func listDeployments(request: Deployment_V1_ListDeploymentsRequest, context: ServerContext) async throws
        -> Deployment_V1_ListDeploymentsResponse
    {
        try await handle {
            let statuses = Set(try request.statuses.map(ProtoMapping.status))
            let filter = DeploymentFilter(cluster: request.cluster, service: request.service, statuses: statuses,
                                          since: request.hasCreatedAfter ? request.createdAfter.date : nil,
                                          until: request.hasCreatedBefore ? request.createdBefore.date : nil)
            let (records, next) = try await engine.list(filter, pageSize: Int(request.pageSize), pageToken: request.pageToken)
            let principal = context.principal
            var response = Deployment_V1_ListDeploymentsResponse()
            // Only what the caller may see; a page may so hold fewer than asked.
            response.deployments = records.filter { access.policy.allows(principal, .view, in: Self.scope(of: $0)) }
                .map(ProtoMapping.deployment)
            response.nextPageToken = next
            return response
        }
    }

    func watchDeployment(request: Deployment_V1_WatchRequest, response: RPCWriter<Deployment_V1_DeploymentEvent>,
                         context: ServerContext) async throws {
        let stream = try await handle {
            try await engine.watch(id: try await authorized(request.deploymentID, .view, context).0.id)
        }
        try await holdingWatch(context) {
            for await event in stream {
                try await response.write(ProtoMapping.event(event))
            }
        }
    }

    /// Runs a watch stream within the caller's limit of open streams.
    func holdingWatch(_ context: ServerContext, _ body: () async throws -> Void) async throws {
        let caller = context.principal.id
        guard watches.acquire(caller) else {
            metrics.error(component: "grpc", type: "resourceExhausted")
            throw RPCError(code: .resourceExhausted, message: "\(caller) has \(watches.limit) watch streams open "
                + "(security.max_watches_per_caller); close one first")
        }
        defer { watches.release(caller) }
        try await body()
    }

    func detectDrift(request: Deployment_V1_DriftRequest, context: ServerContext) async throws -> Deployment_V1_DriftReport {
        try await handle {
            guard !request.cluster.isEmpty else { throw EngineError.invalid("cluster", "is required") }
            guard !request.service.isEmpty else { throw EngineError.invalid("service", "is required") }
            try access.require(Self.caller(context), .view, scopes: [AccessPolicy.scope(cluster: request.cluster, service: request.service)])
            let report = try await engine.drift(cluster: request.cluster, service: request.service)
            var out = Deployment_V1_DriftReport()
            out.cluster = report.cluster
            out.service = report.service
            out.baselineDeploymentID = report.baselineDeployment ?? ""
            out.drifted = !report.items.isEmpty
            out.summary = report.summary
            out.items = report.items.map { item in
                var p = Deployment_V1_DriftItem()
                p.field = item.field
                p.expected = item.expected
                p.actual = item.actual
                return p
            }
            return out
        }
    }

    func getWindows(request: Deployment_V1_DriftRequest, context: ServerContext) async throws -> Deployment_V1_WindowsReport {
        try await handle {
            guard !request.cluster.isEmpty else { throw EngineError.invalid("cluster", "is required") }
            guard !request.service.isEmpty else { throw EngineError.invalid("service", "is required") }
            try access.require(Self.caller(context), .view, scopes: [AccessPolicy.scope(cluster: request.cluster, service: request.service)])
            return ProtoMapping.windows(engine.windowReport(cluster: request.cluster, service: request.service),
                                        cluster: request.cluster, service: request.service)
        }
    }

    static func id(_ id: String) throws -> String {
        guard !id.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw EngineError.invalid("id", "is required")
        }
        // Never echoed back whole: an id is at most 128 characters.
        guard id.utf8.count <= 512 else { throw EngineError.invalid("id", "is \(id.utf8.count) bytes; an id is at most 128 characters") }
        return id
    }
}

/// The standard `grpc.health.v1.Health` service: SERVING while the server accepts work.
struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let isServing: @Sendable () -> Bool

    private func status(for service: String) throws -> Grpc_Health_V1_HealthCheckResponse {
        guard service.isEmpty || service == Deployment_V1_DeploymentService.descriptor.fullyQualifiedService else {
            throw RPCError(code: .notFound, message: "unknown service \(service)")
        }
        var response = Grpc_Health_V1_HealthCheckResponse()
        response.status = isServing() ? .serving : .notServing
        return response
    }

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        try status(for: request.service)
    }

    func watch(request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
               context: ServerContext) async throws {
        try await response.write(try status(for: request.service))
    }
}
