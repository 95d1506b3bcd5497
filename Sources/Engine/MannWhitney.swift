import Foundation

/// The Mann-Whitney U test, one-sided: how likely samples as high as the canary's are if the
/// canary and the baseline come from the same distribution. Normal approximation with the tie
/// correction and the continuity correction (fit for 5 or more samples on each side).
enum MannWhitney {
    /// The p-value of "the canary's values are higher than the baseline's"; 1 when every value
    /// is the same (no evidence either way).
    static func pHigher(_ canary: [Double], than baseline: [Double]) -> Double {
        let n1 = Double(canary.count), n2 = Double(baseline.count)
        guard n1 > 0, n2 > 0 else { return 1 }
        let all = (canary.map { ($0, true) } + baseline.map { ($0, false) }).sorted { $0.0 < $1.0 }
        var rankSum = 0.0
        var ties = 0.0
        var i = 0
        while i < all.count {
            var j = i
            while j + 1 < all.count, all[j + 1].0 == all[i].0 { j += 1 }
            let rank = Double(i + j) / 2 + 1
            let t = Double(j - i + 1)
            ties += t * t * t - t
            for k in i...j where all[k].1 { rankSum += rank }
            i = j + 1
        }
        let n = n1 + n2
        let u = rankSum - n1 * (n1 + 1) / 2
        let mean = n1 * n2 / 2
        let variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
        guard variance > 0 else { return 1 }
        let z = (u - mean - 0.5) / variance.squareRoot()
        return 0.5 * erfc(z / 2.0.squareRoot())
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
