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
            let parsed: ReleaseRequest
            do {
                parsed = try Manifest.parse(request.manifest, file: file, releaseID: id, requestedBy: request.requestedBy)
            } catch let error as ManifestError {
                throw error.engineError
            }
            if request.planOnly { return ProtoMapping.release(try await releases.plan(parsed), plannedOnly: true) }
            return ProtoMapping.release(try await releases.submit(parsed).0)
        }
    }

    func getRelease(request: Deployment_V1_GetStatusRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle { ProtoMapping.release(try await releases.status(id: try Self.id(request.deploymentID))) }
    }

    func listReleases(request: Deployment_V1_ListReleasesRequest, context: ServerContext) async throws
        -> Deployment_V1_ListReleasesResponse
    {
        let size = request.pageSize <= 0 ? 50 : Int(request.pageSize)
        var response = Deployment_V1_ListReleasesResponse()
        response.releases = try await handle { try await releases.list(limit: size) }.map { ProtoMapping.release($0) }
        return response
    }

    func approveRelease(request: Deployment_V1_ApprovalRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle {
            ProtoMapping.release(try await releases.approve(id: try Self.id(request.deploymentID), approver: request.approver,
                                                            reason: request.reason))
        }
    }

    func rejectRelease(request: Deployment_V1_ApprovalRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle {
            ProtoMapping.release(try await releases.reject(id: try Self.id(request.deploymentID), approver: request.approver,
                                                           reason: request.reason))
        }
    }

    func rollbackRelease(request: Deployment_V1_RollbackRequest, context: ServerContext) async throws -> Deployment_V1_Release {
        try await handle {
            ProtoMapping.release(try await releases.rollback(id: try Self.id(request.deploymentID), requestedBy: request.requestedBy,
                                                             reason: request.reason))
        }
    }

    func watchRelease(request: Deployment_V1_WatchRequest, response: RPCWriter<Deployment_V1_ReleaseEvent>,
                      context: ServerContext) async throws {
        let stream = try await handle { try await releases.watch(id: try Self.id(request.deploymentID)) }
        for await event in stream {
            try await response.write(ProtoMapping.releaseEvent(event))
        }
    }

    static func generatedReleaseID() -> String {
        "release-\(Int(Date().timeIntervalSince1970))-\(UUID().uuidString.prefix(8).lowercased())"
    }
}
