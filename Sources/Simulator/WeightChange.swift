import CloudModel
import Foundation

/// One applied ModifyListener or ModifyRule: when, on which listener or rule, and the
/// forward weights it set (every forward action's target groups, in order).
public struct WeightChange: Sendable, Equatable {
    public var time: Date
    /// The listener ARN (ModifyListener) or the rule ARN (ModifyRule).
    public var resourceArn: String
    public var weights: [WeightedTargetGroup]

    public init(time: Date, resourceArn: String, weights: [WeightedTargetGroup]) {
        self.time = time
        self.resourceArn = resourceArn
        self.weights = weights
    }
}
