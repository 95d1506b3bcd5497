import CloudModel
import Testing

@Suite struct DurationTests {
    /// `Duration.seconds(Double)` of this module saturates where the standard library's traps.
    @Test func secondsSaturate() {
        #expect(Duration.seconds(Double.infinity) == .nanoseconds(Int64.max))
        #expect(Duration.seconds(-Double.infinity) == .nanoseconds(Int64.min))
        #expect(Duration.seconds(1e30) == .nanoseconds(Int64.max))
        #expect(Duration.seconds(Double.nan) == .zero)
        #expect(Duration.seconds(1.5) == .milliseconds(1500))
    }
}
