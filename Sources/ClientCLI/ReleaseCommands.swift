import DeployAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// The client's release actions.
struct ReleaseCommands {
    let api: any Deployment_V1_DeploymentService.ClientProtocol
    let options: ClientOptions
    let output: any ClientOutput
    let callOptions: CallOptions

    func submit(planOnly: Bool) async throws -> Int32 {
        guard !options.file.isEmpty else { throw UsageError("-file is required for -action \(options.action)") }
        guard let data = FileManager.default.contents(atPath: options.file) else { throw UsageError("-file: cannot read \(options.file)") }
        var request = Deployment_V1_ReleaseRequest()
        request.releaseID = options.id
        request.manifest = String(decoding: data, as: UTF8.self)
        request.fileName = URL(fileURLWithPath: options.file).lastPathComponent
        request.planOnly = planOnly
        request.startAt = options.at
        request.requestedBy = options.approver.isEmpty ? (ProcessInfo.processInfo.environment["USER"] ?? "") : options.approver
        let release = try await api.submitRelease(request, options: callOptions)
        if planOnly {
            for line in Format.plan(release) { output.out(line) }
            return 0
        }
        output.out("Release \(release.releaseID) accepted: \(release.entries.filter { $0.status != "SKIPPED" }.count) of \(release.entries.count) entries to change, status \(release.status.name)"
            + (release.hasStartAt ? ", starts at \(Format.time(release.startAt))" : ""))
        if release.hasCost { output.out("Cost: \(release.cost.summary)") }
        if options.wait { return try await watch(release.releaseID) }
        return Format.exitCode(release.status, finishedOnly: false)
    }

    func exists(_ id: String) async throws -> Bool {
        do {
            _ = try await get(id)
            return true
        } catch let error as RPCError where error.code == .notFound {
            return false
        }
    }

    private func get(_ id: String) async throws -> Deployment_V1_Release {
        var request = Deployment_V1_GetStatusRequest()
        request.deploymentID = id
        return try await api.getRelease(request, options: callOptions)
    }

    func status(_ id: String) async throws -> Int32 {
        for line in Format.releaseDetails(try await get(id)) { output.out(line) }
        return 0
    }

    func decide(approve: Bool) async throws -> Int32 {
        var request = Deployment_V1_ApprovalRequest()
        request.deploymentID = options.id
        request.approver = options.approver
        request.reason = options.reason
        let r = approve ? try await api.approveRelease(request, options: callOptions) : try await api.rejectRelease(request, options: callOptions)
        output.out("Release \(r.releaseID) \(approve ? "approved" : "rejected"): status \(r.status.name)")
        if approve, options.wait { return try await watch(r.releaseID) }
        return 0
    }

    func rollback() async throws -> Int32 {
        var request = Deployment_V1_RollbackRequest()
        request.deploymentID = options.id
        request.requestedBy = options.approver
        request.reason = options.reason
        let r = try await api.rollbackRelease(request, options: callOptions)
        output.out("Rollback of release \(r.releaseID) started: status \(r.status.name)")
        if options.wait { return try await watch(r.releaseID) }
        return 0
    }

    func list() async throws {
        var request = Deployment_V1_ListReleasesRequest()
        request.pageSize = Int32(max(1, min(options.limit, 500)))
        let releases = try await api.listReleases(request, options: callOptions).releases
        guard !releases.isEmpty else { return }
        output.out("Releases:")
        for line in Format.releaseTable(releases) { output.out("  " + line) }
        output.out("Deployments:")
    }

    /// Prints events until the release ends; the exit code says how it ended.
    func watch(_ id: String) async throws -> Int32 {
        var request = Deployment_V1_WatchRequest()
        request.deploymentID = id
        let output = self.output
        let json = options.output == "json"
        let last = try await api.watchRelease(request) { response in
            var last: Deployment_V1_ReleaseEvent?
            for try await event in response.messages {
                output.out(json ? Format.json(event) : Format.releaseEvent(event))
                last = event
            }
            return last
        }
        let (line, code) = Format.outcome("Release", id, status: last?.status, message: last?.message ?? "")
        if !json { output.out(line) }
        return code
    }
}
