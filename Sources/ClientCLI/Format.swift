import DeployAPI
import Foundation
import SwiftProtobuf

/// How the client prints what the server answers.
enum Format {

    static func isTerminal(_ s: Deployment_V1_DeploymentStatus) -> Bool {
        [.succeeded, .failed, .rolledBack, .rejected, .interrupted].contains(s)
    }

    /// 0 unless the deployment ended badly (or, with `finishedOnly`, did not end).
    static func exitCode(_ s: Deployment_V1_DeploymentStatus, finishedOnly: Bool) -> Int32 {
        if s == .succeeded { return 0 }
        if isTerminal(s) { return 1 }
        return finishedOnly ? 1 : 0
    }

    /// The last line of `watch` and its exit code, from the last event of the stream (which
    /// ends with the deployment or release).
    static func outcome(_ kind: String, _ id: String, status: Deployment_V1_DeploymentStatus?, message: String) -> (String, Int32) {
        guard let status, isTerminal(status) else {
            return ("\(kind) \(id): the server stopped following it (status \(status.map(\.name) ?? "unknown"))", 1)
        }
        return ("\(kind) \(id): \(status.name)\(message.isEmpty ? "" : " - \(message)")", exitCode(status, finishedOnly: true))
    }

    static func time(_ t: Google_Protobuf_Timestamp) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: t.date)
    }

    static func clock(_ t: Google_Protobuf_Timestamp) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "HH:mm:ss"
        return f.string(from: t.date)
    }

    /// One API message as one line of JSON (`-output json`), with the proto's field names.
    static func json(_ message: some SwiftProtobuf.Message) -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return (try? message.jsonString(options: options)) ?? "{}"
    }

    static func event(_ e: Deployment_V1_DeploymentEvent) -> String {
        let percent = String(format: "%3d%%", e.progressPercent)
        let stage = e.stage.isEmpty ? "" : " \(e.stage)"
        let message = e.message.isEmpty ? "" : ": \(e.message)"
        return "\(clock(e.at)) [\(percent)] \(e.status.name) \(e.type)\(stage)\(message)"
    }

    static func details(_ d: Deployment_V1_Deployment) -> [String] {
        var lines = [
            "Deployment:  \(d.deploymentID)",
            "Cluster:     \(d.cluster)",
            "Service:     \(d.service)",
            "Strategy:    \(d.strategy)",
            "Status:      \(d.status.name)",
            "Progress:    \(d.progressPercent)%",
            "Stage:       \(d.currentStage.isEmpty ? "-" : d.currentStage)",
        ]
        if !d.taskDefinitionArn.isEmpty { lines.append("Task def:    \(d.taskDefinitionArn)") }
        if !d.previousTaskDefinitionArn.isEmpty { lines.append("Previous:    \(d.previousTaskDefinitionArn)") }
        if !d.requestedBy.isEmpty { lines.append("Requested by: \(d.requestedBy)") }
        for warning in d.warnings { lines.append("Warning:     \(warning)") }
        if d.hasCost { lines.append("Cost:        \(d.cost.summary)") }
        lines.append("Created:     \(time(d.createdAt))")
        lines.append("Updated:     \(time(d.updatedAt))")
        if d.hasFinishedAt { lines.append("Finished:    \(time(d.finishedAt))") }
        if d.hasApproval {
            lines.append("Approval:    \(d.approval.decision) by \(d.approval.approver)\(d.approval.reason.isEmpty ? "" : " (\(d.approval.reason))")")
        }
        if !d.error.isEmpty { lines.append("Error:       \(d.error)") }
        lines.append("Stages:")
        for s in d.stages { lines.append(stageLine(s)) }
        if !d.rollbackStages.isEmpty {
            lines.append("Rollback stages:")
            for s in d.rollbackStages { lines.append(stageLine(s)) }
        }
        return lines
    }

    /// `-action windows`: the service's windows, and when it may deploy.
    static func windows(_ r: Deployment_V1_WindowsReport) -> [String] {
        var lines = ["Service \(r.cluster)/\(r.service): \(r.summary)"]
        for w in r.windows {
            let state = w.openNow ? "open now" : (w.hasNextOpen ? "next opens \(time(w.nextOpen))" : "does not open within a year")
            lines.append("  \(w.kind) \(w.schedule) for \(w.duration) (\(w.timeZone))\(w.description_p.isEmpty ? "" : ": \(w.description_p)") - \(state)")
        }
        return lines
    }

    static func stageLine(_ s: Deployment_V1_Stage) -> String {
        let name: String = switch s.status {
        case .stagePending: "PENDING"
        case .stageRunning: "RUNNING"
        case .stageSucceeded: "SUCCEEDED"
        case .stageFailed: "FAILED"
        case .stageSkipped: "SKIPPED"
        default: "UNKNOWN"
        }
        let padded = name.padding(toLength: 10, withPad: " ", startingAt: 0)
        return "  \(padded) \(s.name)\(s.message.isEmpty ? "" : ": \(s.message)")"
    }

    static func table(_ deployments: [Deployment_V1_Deployment]) -> [String] {
        guard !deployments.isEmpty else { return ["No deployments."] }
        let rows = deployments.map { d in
            [d.deploymentID, d.status.name, d.strategy, "\(d.cluster)/\(d.service)", "\(d.progressPercent)%", time(d.updatedAt)]
        }
        return columns(["ID", "STATUS", "STRATEGY", "SERVICE", "PROGRESS", "UPDATED"], rows)
    }

    /// Left-aligned columns, two spaces apart.
    static func columns(_ header: [String], _ rows: [[String]]) -> [String] {
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
