import DeployAPI
import Engine
import Foundation
import SwiftProtobuf

extension ProtoMapping {
    static func release(_ r: ReleaseRecord, plannedOnly: Bool = false) -> Deployment_V1_Release {
        var p = Deployment_V1_Release()
        p.releaseID = r.id
        p.name = r.request.name
        p.status = status(r.status)
        p.entries = r.entries.map(entry)
        p.error = r.error
        p.createdAt = Google_Protobuf_Timestamp(date: r.createdAt)
        p.updatedAt = Google_Protobuf_Timestamp(date: r.updatedAt)
        if let f = r.finishedAt { p.finishedAt = Google_Protobuf_Timestamp(date: f) }
        if let origin = r.request.origin {
            p.commit = origin.commit
            p.author = origin.author
            p.commitMessage = origin.message
        }
        if let a = approval(r.approval, given: r.approvals, required: r.approvalsRequired) { p.approval = a }
        p.plannedOnly = plannedOnly
        p.onFailure = r.request.onFailure.rawValue
        p.requestedBy = r.request.requestedBy
        if let c = r.cost { p.cost = cost(c) }
        if let at = r.request.startAt { p.startAt = Google_Protobuf_Timestamp(date: at) }
        return p
    }

    static func entry(_ e: EntryState) -> Deployment_V1_ReleaseEntry {
        var p = Deployment_V1_ReleaseEntry()
        p.label = e.entry.label
        p.kind = e.entry.kind.rawValue
        p.cluster = e.entry.cluster
        p.service = e.entry.service
        p.rule = e.entry.ruleName
        p.oldImages = e.oldImages
        p.newImage = e.newImage
        p.strategy = e.entry.strategy.rawValue
        p.wave = Int32(e.entry.wave)
        p.status = e.status.rawValue
        p.deploymentID = e.deploymentID ?? ""
        p.error = e.error
        p.source = e.entry.source
        if let c = e.cost { p.cost = cost(c) }
        return p
    }

    static func releaseEvent(_ e: ReleaseEvent) -> Deployment_V1_ReleaseEvent {
        var p = Deployment_V1_ReleaseEvent()
        p.releaseID = e.releaseID
        p.sequence = Int64(e.sequence)
        p.at = Google_Protobuf_Timestamp(date: e.at)
        p.type = e.type
        p.entry = e.entry
        p.status = status(e.status)
        p.message = e.message
        return p
    }
}
