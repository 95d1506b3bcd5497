import Access
import DeployAPI
import Engine
import Foundation
import GitOps
import GRPCCore

/// The release RPCs: a deployment.yaml in, a release out.
extension DeploymentAPIService {
    func submitRelease(request: Deployment_V1_ReleaseRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle {
            guard !request.manifest.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw EngineError.invalid("manifest", "is required (the deployment.yaml text)")
            }
            let id = request.releaseID.isEmpty ? Self.generatedReleaseID() : try Self.id(request.releaseID)
            let file = request.fileName.isEmpty ? "deployment.yaml" : request.fileName
            let caller = Self.caller(context)
            var parsed: ReleaseRequest
            do {
                parsed = try Manifest.parse(request.manifest, file: file, releaseID: id, requestedBy: "")
            } catch let error as ManifestError {
                throw error.engineError
            }
            let principal = try access.require(caller, request.planOnly ? .view : .deploy, scopes: Self.scopes(of: parsed))
            try access.checkRelease(parsed, principal: principal, method: caller.method)
            parsed.requestedBy = access.identity(principal, given: request.requestedBy)
            if !request.startAt.isEmpty { parsed.startAt = try DeploymentSettings.instant("start_at", request.startAt) }
            if request.planOnly { return ProtoMapping.release(try await releases.plan(parsed), plannedOnly: true) }
            return ProtoMapping.release(try await releases.submit(parsed).0)
        }
    }

    /// The release `id` names, once the caller is allowed `permission` on every entry.
    func authorizedRelease(_ id: String, _ permission: Permission, _ context: ServerContext) async throws -> (ReleaseRecord, Principal) {
        let record = try await releases.status(id: try Self.id(id))
        let principal = try access.require(Self.caller(context), permission, scopes: Self.scopes(of: record.request))
        return (record, principal)
    }

    /// The scopes a release touches: `cluster/service` of each service, `rule/NAME` of each
    /// scheduled task.
    static func scopes(of release: ReleaseRequest) -> [String] {
        release.entries.map { entry in
            entry.kind == .service ? AccessPolicy.scope(cluster: entry.cluster, service: entry.service) : AccessPolicy.scope(rule: entry.ruleName)
        }
    }

    func getRelease(request: Deployment_V1_GetStatusRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle { ProtoMapping.release(try await authorizedRelease(request.deploymentID, .view, context).0) }
    }

    func listReleases(request: Deployment_V1_ListReleasesRequest, context: ServerContext) async throws
        -> Deployment_V1_ListReleasesResponse
    {
        let size = request.pageSize <= 0 ? 50 : Int(request.pageSize)
        var response = Deployment_V1_ListReleasesResponse()
        let principal = context.principal
        response.releases = try await handle { try await releases.list(limit: size) }
            .filter { release in Self.scopes(of: release.request).allSatisfy { access.policy.allows(principal, .view, in: $0) } }
            .map { ProtoMapping.release($0) }
        return response
    }

    func approveRelease(request: Deployment_V1_ApprovalRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle {
            let (record, principal) = try await authorizedRelease(request.deploymentID, .approve, context)
            try access.refuseCommitAuthor(principal, of: record.request)
            let required = access.policy.requiredApprovals(for: Self.scopes(of: record.request))
            return ProtoMapping.release(try await releases.approve(id: record.id, approver: access.identity(principal, given: request.approver),
                                                                   reason: request.reason, required: required))
        }
    }

    func rejectRelease(request: Deployment_V1_ApprovalRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle {
            let (record, principal) = try await authorizedRelease(request.deploymentID, .approve, context)
            return ProtoMapping.release(try await releases.reject(id: record.id, approver: access.identity(principal, given: request.approver),
                                                                  reason: request.reason))
        }
    }

    func rollbackRelease(request: Deployment_V1_RollbackRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle {
            let (record, principal) = try await authorizedRelease(request.deploymentID, .rollback, context)
            return ProtoMapping.release(try await releases.rollback(id: record.id, requestedBy: access.identity(principal, given: request.requestedBy),
                                                                    reason: request.reason))
        }
    }

    func watchRelease(request: Deployment_V1_WatchRequest, response: RPCWriter<Deployment_V1_ReleaseEvent>,
                      context: ServerContext) async throws {
        let stream = try await handle {
            try await releases.watch(id: try await authorizedRelease(request.deploymentID, .view, context).0.id)
        }
        try await holdingWatch(context) {
            for await event in stream {
                try await response.write(ProtoMapping.releaseEvent(event))
            }
        }
    }

    static func generatedReleaseID() -> String {
        "release-\(Int(Date().timeIntervalSince1970))-\(UUID().uuidString.prefix(8).lowercased())"
    }
}
