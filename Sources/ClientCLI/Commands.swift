import DeployAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import SwiftProtobuf

/// One client action against the server.
struct Commands {
    let api: any Deployment_V1_DeploymentService.ClientProtocol
    let options: ClientOptions
    let output: any ClientOutput

    private var callOptions: CallOptions {
        var o = CallOptions.defaults
        o.timeout = .seconds(options.timeout)
        return o
    }

    func run(_ action: Action) async throws -> Int32 {
        switch action {
        case .deploy: return try await deploy()
        case .status: return try await status()
        case .rollback: return try await rollback()
        case .approve, .reject: return try await decide(approve: action == .approve)
        case .list: return try await list()
        case .watch:
            let id = try requireID()
            return try await deploymentOrRelease({ try await watch(id) }, release: { try await releases.watch(id) })
        case .drift: return try await drift()
        case .windows: return try await windows()
        case .release, .plan: return try await releases.submit(planOnly: action == .plan)
        }
    }

    private func requireID() throws -> String {
        guard !options.id.isEmpty else { throw UsageError("-id is required for -action \(options.action)") }
        return options.id
    }

    private func deploy() async throws -> Int32 {
        var request = Deployment_V1_DeployRequest()
        request.deploymentID = options.id
        request.cluster = options.cluster
        request.service = options.service
        request.taskDefinition = options.taskdef
        request.strategy = options.strategy
        request.config = try ConfigArgument.parse(options.config)
        if !options.at.isEmpty {
            guard request.config["start_at"] == nil else { throw UsageError("-at and -config start_at: give one of them") }
            request.config["start_at"] = options.at
        }
        if options.noWaitWindow { request.config["wait_window"] = "false" }
        request.requestedBy = options.approver.isEmpty ? (ProcessInfo.processInfo.environment["USER"] ?? "") : options.approver
        for (flag, value) in [("-cluster", options.cluster), ("-service", options.service), ("-taskdef", options.taskdef)]
        where value.isEmpty {
            throw UsageError("\(flag) is required for -action deploy")
        }
        let response = try await api.deploy(request, options: callOptions)
        let d = response.deployment
        let verb = response.existing ? "already exists" : "accepted"
        output.out("Deployment \(d.deploymentID) \(verb): \(d.strategy) of \(d.cluster)/\(d.service), status \(d.status.name)")
        for warning in d.warnings { output.err("warning: \(warning)") }
        if options.wait { return try await watch(d.deploymentID) }
        if !options.wait, !Format.isTerminal(d.status) {
            output.out("Follow it with: grpc-client -action watch -id \(d.deploymentID)")
        }
        return Format.exitCode(d.status, finishedOnly: false)
    }

    var releases: ReleaseCommands { ReleaseCommands(api: api, options: options, output: output, callOptions: callOptions) }

    /// Runs `deployment`; when the id names no deployment, `release` instead (ids of releases
    /// and deployments do not overlap). When neither exists, the deployment's error stands.
    private func deploymentOrRelease(_ deployment: () async throws -> Int32,
                                     release: () async throws -> Int32) async throws -> Int32 {
        do {
            return try await deployment()
        } catch let error as RPCError where error.code == .notFound {
            do {
                return try await release()
            } catch let other as RPCError where other.code == .notFound {
                throw RPCError(code: .notFound, message: "no deployment or release \(options.id)")
            }
        }
    }

    private func status() async throws -> Int32 {
        try await deploymentOrRelease({ try await deploymentStatus() }, release: { try await releases.status(options.id) })
    }

    private func deploymentStatus() async throws -> Int32 {
        var request = Deployment_V1_GetStatusRequest()
        request.deploymentID = try requireID()
        let d = try await api.getStatus(request, options: callOptions)
        for line in Format.details(d) { output.out(line) }
        return 0
    }

    private func rollback() async throws -> Int32 {
        try await deploymentOrRelease({ try await deploymentRollback() }, release: { try await releases.rollback() })
    }

    private func deploymentRollback() async throws -> Int32 {
        var request = Deployment_V1_RollbackRequest()
        request.deploymentID = try requireID()
        request.requestedBy = options.approver
        request.reason = options.reason
        let d = try await api.rollback(request, options: callOptions)
        output.out("Rollback of \(d.deploymentID) started: status \(d.status.name)")
        if options.wait { return try await watch(d.deploymentID, fromRollback: true) }
        return 0
    }

    private func decide(approve: Bool) async throws -> Int32 {
        try await deploymentOrRelease({ try await deploymentDecide(approve: approve) },
                                      release: { try await releases.decide(approve: approve) })
    }

    private func deploymentDecide(approve: Bool) async throws -> Int32 {
        var request = Deployment_V1_ApprovalRequest()
        request.deploymentID = try requireID()
        request.approver = options.approver
        request.reason = options.reason
        let d = approve ? try await api.approve(request, options: callOptions) : try await api.reject(request, options: callOptions)
        output.out("Deployment \(d.deploymentID) \(approve ? "approved" : "rejected"): status \(d.status.name)")
        return 0
    }

    private func list() async throws -> Int32 {
        var request = Deployment_V1_ListDeploymentsRequest()
        request.cluster = options.cluster
        request.service = options.service
        request.pageSize = Int32(max(1, min(options.limit, 500)))
        request.pageToken = options.page
        if !options.since.isEmpty { request.createdAfter = Google_Protobuf_Timestamp(date: try TimeArgument.parse(options.since, flag: "-since")) }
        if !options.until.isEmpty { request.createdBefore = Google_Protobuf_Timestamp(date: try TimeArgument.parse(options.until, flag: "-until")) }
        if !options.status.isEmpty {
            guard let status = Deployment_V1_DeploymentStatus(name: options.status.uppercased()) else {
                throw UsageError("-status: '\(options.status)' is not a status (e.g. IN_PROGRESS, SUCCEEDED, FAILED, ROLLED_BACK)")
            }
            request.statuses = [status]
        }
        let response = try await api.listDeployments(request, options: callOptions)
        try await releases.list()
        for line in Format.table(response.deployments) { output.out(line) }
        if !response.nextPageToken.isEmpty {
            output.out("More deployments: add -page \(response.nextPageToken) for the next \(request.pageSize)")
        }
        return 0
    }

    /// Exit 0 when the service matches its last successful deployment, 1 when it drifted.
    /// The service that -cluster and -service name (drift, windows).
    private func serviceRequest() throws -> Deployment_V1_DriftRequest {
        guard !options.cluster.isEmpty, !options.service.isEmpty else {
            throw UsageError("-cluster and -service are required for -action \(options.action)")
        }
        var request = Deployment_V1_DriftRequest()
        request.cluster = options.cluster
        request.service = options.service
        return request
    }

    private func drift() async throws -> Int32 {
        let report = try await api.detectDrift(try serviceRequest(), options: callOptions)
        let name = "\(report.cluster)/\(report.service)"
        guard !report.baselineDeploymentID.isEmpty else {
            output.out("Service \(name): no successful deployment is recorded, nothing to compare")
            return 0
        }
        guard report.drifted else {
            output.out("Service \(name): no drift since deployment \(report.baselineDeploymentID)")
            return 0
        }
        output.out("Service \(name): drift detected against deployment \(report.baselineDeploymentID)")
        for item in report.items {
            output.out("  \(item.field): expected \(item.expected), found \(item.actual)")
        }
        return 1
    }

    /// The deploy windows of a service; exit code 0 when it may deploy now, 1 when not.
    private func windows() async throws -> Int32 {
        let report = try await api.getWindows(try serviceRequest(), options: callOptions)
        for line in Format.windows(report) { output.out(line) }
        return report.mayDeployNow ? 0 : 1
    }

    /// Prints events until the deployment ends; the exit code says how it ended. With
    /// `fromRollback`, only the rollback's events, and 0 when it rolled back.
    func watch(_ id: String, fromRollback: Bool = false) async throws -> Int32 {
        var request = Deployment_V1_WatchRequest()
        request.deploymentID = id
        let printer = EventPrinter(output: output, json: options.output == "json")
        let last = try await api.watchDeployment(request) { response in
            var last: Deployment_V1_DeploymentEvent?
            var following = !fromRollback
            for try await event in response.messages {
                following = following || event.type == "rollback.requested"
                if following { printer.print(event) }
                last = event
            }
            return last
        }
        var (line, code) = Format.outcome("Deployment", id, status: last?.status, message: last?.message ?? "")
        if fromRollback { code = last?.status == .rolledBack ? 0 : 1 }
        if options.output == "json" { return code }
        output.out(line)
        return code
    }
}

extension Deployment_V1_DeploymentStatus {
    init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

/// How `watch` and `-wait` print events: transitions as lines; progress as one live line on a
/// terminal, and not at all elsewhere; or (`-output json`) every event as one JSON object a line.
struct EventPrinter {
    let output: any ClientOutput
    let json: Bool

    func print(_ event: Deployment_V1_DeploymentEvent) {
        if json { return output.out(Format.json(event)) }
        if event.type == "stage.progress" {
            if output.isTerminal { output.live(Format.event(event)) }
            return
        }
        output.out(Format.event(event))
    }
}
