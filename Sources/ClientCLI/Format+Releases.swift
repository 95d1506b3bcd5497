import DeployAPI
import Foundation

extension Format {
    static func plan(_ r: Deployment_V1_Release) -> [String] {
        let changes = r.entries.filter { $0.status != "SKIPPED" }
        var lines = ["Plan of release \(r.releaseID)\(r.name.isEmpty ? "" : " (\(r.name))"): \(changes.count) of \(r.entries.count) entries change, on failure: \(r.onFailure)"]
        for e in r.entries {
            let target = e.kind == "scheduled_task" ? "task \(e.label) (rule \(e.rule))" : "service \(e.label) (\(e.cluster)/\(e.service))"
            if e.status == "SKIPPED" {
                lines.append("  = \(target): already \(e.newImage)")
            } else {
                let strategy = e.kind == "service" ? ", \(e.strategy)" + (e.wave > 0 ? ", wave \(e.wave)" : "") : ""
                lines.append("  ~ \(target): \(e.oldImages.joined(separator: ", ")) -> \(e.newImage)\(strategy)")
                if e.hasCost { lines.append("      cost: \(e.cost.summary)") }
            }
        }
        if r.hasCost { lines.append("Cost of the release: \(r.cost.summary)") }
        if r.hasStartAt { lines.append("Starts at: \(time(r.startAt))") }
        return lines
    }

    static func releaseEntries(_ r: Deployment_V1_Release) -> [String] {
        r.entries.map { e in
            let what = e.kind == "scheduled_task" ? "task \(e.label)" : "service \(e.label)"
            let detail = e.error.isEmpty ? (e.deploymentID.isEmpty ? "" : " (deployment \(e.deploymentID))") : " - \(e.error)"
            return "  \(e.status.padding(toLength: 12, withPad: " ", startingAt: 0)) \(what) -> \(e.newImage)\(detail)"
        }
    }

    static func releaseDetails(_ r: Deployment_V1_Release) -> [String] {
        var lines = [
            "Release:     \(r.releaseID)",
            "Name:        \(r.name)",
            "Status:      \(r.status.name)",
            "On failure:  \(r.onFailure)",
        ]
        if !r.commit.isEmpty { lines.append("Commit:      \(r.commit) by \(r.author): \(r.commitMessage)") }
        if r.hasStartAt { lines.append("Starts at:   \(time(r.startAt))") }
        if r.hasCost { lines.append("Cost:        \(r.cost.summary)") }
        lines.append("Created:     \(time(r.createdAt))")
        if r.hasFinishedAt { lines.append("Finished:    \(time(r.finishedAt))") }
        if r.hasApproval {
            lines.append("Approval:    \(r.approval.decision) by \(r.approval.approver)\(r.approval.reason.isEmpty ? "" : " (\(r.approval.reason))")")
        }
        if !r.error.isEmpty { lines.append("Error:       \(r.error)") }
        lines.append("Entries:")
        return lines + releaseEntries(r)
    }

    static func releaseEvent(_ e: Deployment_V1_ReleaseEvent) -> String {
        "\(clock(e.at)) \(e.status.name) \(e.type)\(e.entry.isEmpty ? "" : " \(e.entry)")\(e.message.isEmpty ? "" : ": \(e.message)")"
    }

    static func releaseTable(_ releases: [Deployment_V1_Release]) -> [String] {
        let rows = releases.map { r in
            let done = r.entries.filter { ["SUCCEEDED", "SKIPPED"].contains($0.status) }.count
            return [r.releaseID, r.status.name, "\(done)/\(r.entries.count)", r.commit.isEmpty ? "-" : String(r.commit.prefix(12)), time(r.updatedAt)]
        }
        return columns(["ID", "STATUS", "DONE", "COMMIT", "UPDATED"], rows)
    }
}
