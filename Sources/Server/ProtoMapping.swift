import CloudModel
import DeployAPI
import Engine
import Foundation
import GRPCCore
import SwiftProtobuf

/// Conversions between the engine's records and the API's messages.
enum ProtoMapping {
    static func deployment(_ r: DeploymentRecord) -> Deployment_V1_Deployment {
        var d = Deployment_V1_Deployment()
        d.deploymentID = r.id
        d.cluster = r.request.cluster
        d.service = r.request.service
        d.strategy = r.request.strategy.rawValue
        d.status = status(r.status)
        d.progressPercent = Int32(r.progress)
        d.currentStage = r.currentStage
        d.stages = r.stages.map(stage)
        d.rollbackStages = r.rollbackStages.map(stage)
        d.error = r.error
        d.taskDefinitionArn = r.facts.newTaskDefinition ?? ""
        d.previousTaskDefinitionArn = r.facts.previousTaskDefinition ?? ""
        // Shown without credentials or query values of URLs.
        d.config = r.request.config.mapValues(CredentialRedaction.redact)
        d.createdAt = Google_Protobuf_Timestamp(date: r.createdAt)
        d.updatedAt = Google_Protobuf_Timestamp(date: r.updatedAt)
        if let f = r.finishedAt { d.finishedAt = Google_Protobuf_Timestamp(date: f) }
        d.requestedBy = r.request.requestedBy
        if let a = approval(r.approval, given: r.approvals, required: r.approvalsRequired) { d.approval = a }
        d.warnings = r.warnings ?? []
        if let c = r.cost { d.cost = cost(c) }
        return d
    }

    static func cost(_ c: ChangeCost) -> Deployment_V1_Cost {
        var p = Deployment_V1_Cost()
        p.notEstimated = c.notEstimated ?? ""
        p.monthlyBefore = c.monthlyBefore
        p.monthlyAfter = c.monthlyAfter
        p.rolloutExtra = c.rolloutExtra
        p.currency = c.currency
        p.region = c.region
        p.pricesDate = c.pricesDate
        p.unestimated = Int32(c.unestimated ?? 0)
        p.summary = c.summary
        return p
    }

    static func windows(_ report: WindowReport, cluster: String, service: String) -> Deployment_V1_WindowsReport {
        var p = Deployment_V1_WindowsReport()
        p.cluster = cluster
        p.service = service
        p.mayDeployNow = report.mayDeployNow
        if let next = report.nextOpening { p.nextOpening = Google_Protobuf_Timestamp(date: next) }
        p.summary = report.summary
        p.windows = report.items.map { item in
            var w = Deployment_V1_Window()
            w.kind = item.window.kind.rawValue
            w.schedule = item.window.schedule.text
            w.duration = GoDuration.format(item.window.duration)
            w.timeZone = item.window.schedule.timeZoneName
            w.description_p = item.window.description
            w.openNow = item.isOpen
            if let next = item.nextOpen { w.nextOpen = Google_Protobuf_Timestamp(date: next) }
            return w
        }
        return p
    }

    /// The decision; while more approvers are needed, `pending` with those who approved and how
    /// many more are needed.
    static func approval(_ decision: ApprovalRecord?, given: [ApprovalRecord]?, required: Int?) -> Deployment_V1_Approval? {
        var p = Deployment_V1_Approval()
        if let a = decision {
            p.decision = a.approved ? "approved" : "rejected"
            p.approver = a.approver
            p.reason = a.reason
            p.at = Google_Protobuf_Timestamp(date: a.at)
            return p
        }
        guard let given, let last = given.last else { return nil }
        let needed = max(required ?? given.count, given.count)
        p.decision = "pending"
        p.approver = given.map(\.approver).joined(separator: ", ")
        p.reason = "\(given.count) of \(needed) approvals; \(needed - given.count) more needed from other approvers"
        p.at = Google_Protobuf_Timestamp(date: last.at)
        return p
    }

    static func stage(_ s: StageRecord) -> Deployment_V1_Stage {
        var p = Deployment_V1_Stage()
        p.name = s.name
        p.message = s.message
        p.status = switch s.status {
        case .pending: .stagePending
        case .running: .stageRunning
        case .succeeded: .stageSucceeded
        case .failed: .stageFailed
        case .skipped: .stageSkipped
        }
        if let t = s.startedAt { p.startedAt = Google_Protobuf_Timestamp(date: t) }
        if let t = s.finishedAt { p.finishedAt = Google_Protobuf_Timestamp(date: t) }
        return p
    }

    static func event(_ e: DeploymentEvent) -> Deployment_V1_DeploymentEvent {
        var p = Deployment_V1_DeploymentEvent()
        p.deploymentID = e.deploymentID
        p.sequence = Int64(e.sequence)
        p.at = Google_Protobuf_Timestamp(date: e.at)
        p.type = e.type
        p.stage = e.stage
        p.status = status(e.status)
        p.progressPercent = Int32(e.progress)
        p.message = e.message
        return p
    }

    static func status(_ s: DeploymentStatus) -> Deployment_V1_DeploymentStatus {
        switch s {
        case .pending: .pending
        case .pendingApproval: .pendingApproval
        case .inProgress: .inProgress
        case .succeeded: .succeeded
        case .failed: .failed
        case .rollingBack: .rollingBack
        case .rolledBack: .rolledBack
        case .rejected: .rejected
        case .interrupted: .interrupted
        case .waitingWindow: .waitingWindow
        }
    }

    static func status(_ s: Deployment_V1_DeploymentStatus) throws -> DeploymentStatus {
        switch s {
        case .pending: return .pending
        case .pendingApproval: return .pendingApproval
        case .inProgress: return .inProgress
        case .succeeded: return .succeeded
        case .failed: return .failed
        case .rollingBack: return .rollingBack
        case .rolledBack: return .rolledBack
        case .rejected: return .rejected
        case .interrupted: return .interrupted
        case .waitingWindow: return .waitingWindow
        case .unspecified, .UNRECOGNIZED:
            throw RPCError(code: .invalidArgument, message: "statuses: \(s) is not a deployment status")
        }
    }

    /// The gRPC status for an engine error; anything unexpected is `internal`.
    /// Messages past this are cut: they may echo input (a 5 MB id must not come back whole).
    static let maxMessage = 2048

    static func rpcError(_ error: any Error) -> RPCError {
        let e = rawRPCError(error)
        guard e.message.utf8.count > maxMessage else { return e }
        return RPCError(code: e.code, message: String(e.message.prefix(maxMessage)) + "... (cut)")
    }

    private static func rawRPCError(_ error: any Error) -> RPCError {
        if let e = error as? RPCError { return e }
        if let e = error as? CloudError { return RPCError(code: code(for: e), message: "\(e)") }
        guard let e = error as? EngineError else { return RPCError(code: .internalError, message: "\(error)") }
        let code: RPCError.Code = switch e.kind {
        case .invalidArgument: .invalidArgument
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .failedPrecondition: .failedPrecondition
        case .unavailable: .unavailable
        case .unimplemented: .unimplemented
        case .permissionDenied: .permissionDenied
        case .resourceExhausted: .resourceExhausted
        }
        return RPCError(code: code, message: e.message)
    }

    /// The gRPC status for an error the cloud answered, by its kind: throttling is
    /// RESOURCE_EXHAUSTED, a permission or credential refusal PERMISSION_DENIED, a missing
    /// resource NOT_FOUND, a refused input INVALID_ARGUMENT, a cloud that cannot be reached or
    /// answered wrongly UNAVAILABLE (DEADLINE_EXCEEDED for a time-out).
    static func code(for error: CloudError) -> RPCError.Code {
        let code = error.code
        if error.isThrottling { return .resourceExhausted }
        if code == "RequestTimeout" { return .deadlineExceeded }
        if code.hasPrefix("AccessDenied") || ["UnauthorizedOperation", "UnrecognizedClientException", "InvalidClientTokenId",
                                              "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
                                              "IncompleteSignature", "MissingAuthenticationToken"].contains(code) {
            return .permissionDenied
        }
        if code.hasSuffix("NotFound") || code.hasSuffix("NotFoundException") || code == "NoSuchEntity" { return .notFound }
        if ["InvalidParameterException", "InvalidParameterValue", "ValidationError", "ValidationException",
            "InvalidInput", "InvalidConfigurationRequest"].contains(code) {
            return .invalidArgument
        }
        if error.isRetryable || code == "InvalidResponse" { return .unavailable }
        return .failedPrecondition
    }
}
