/// Threshold statistics of a score that should be higher for positives.
public enum ROC {
  /// The area under the ROC curve: the probability that a random positive outscores a random
  /// negative (ties count half).
  public static func auroc(positives: [Double], negatives: [Double]) -> Double {
    guard !positives.isEmpty, !negatives.isEmpty else { return 0.5 }
    let all = positives.map { ($0, true) } + negatives.map { ($0, false) }
    let sorted = all.sorted { $0.0 < $1.0 }
    // Rank-sum (Mann–Whitney U) with average ranks for ties.
    var rankSum = 0.0
    var i = 0
    while i < sorted.count {
      var j = i
      while j + 1 < sorted.count && sorted[j + 1].0 == sorted[i].0 { j += 1 }
      let rank = Double(i + j) / 2 + 1
      for k in i...j where sorted[k].1 { rankSum += rank }
      i = j + 1
    }
    let p = Double(positives.count)
    let n = Double(negatives.count)
    return (rankSum - p * (p + 1) / 2) / (p * n)
  }

  /// The threshold t maximising accuracy of "score ≥ t is positive" with balanced classes
  /// (Youden's J), and that balanced accuracy.
  public static func bestThreshold(positives: [Double], negatives: [Double]) -> (threshold: Double, accuracy: Double) {
    let candidates = Set(positives + negatives).sorted()
    var best = (threshold: candidates.first ?? 0, accuracy: 0.0)
    for t in candidates {
      let tpr = Double(positives.filter { $0 >= t }.count) / Double(max(1, positives.count))
      let tnr = Double(negatives.filter { $0 < t }.count) / Double(max(1, negatives.count))
      if (tpr + tnr) / 2 > best.accuracy { best = (t, (tpr + tnr) / 2) }
    }
    return best
  }

  /// Balanced accuracy of a fixed threshold.
  public static func accuracy(threshold: Double, positives: [Double], negatives: [Double]) -> Double {
    let tpr = Double(positives.filter { $0 >= threshold }.count) / Double(max(1, positives.count))
    let tnr = Double(negatives.filter { $0 < threshold }.count) / Double(max(1, negatives.count))
    return (tpr + tnr) / 2
  }

  /// The q-quantile (0…1) of values, by nearest rank.
  public static func quantile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    // q outside 0…1 or NaN is clamped rather than trapping in Int(_:).
    let position = q.isNaN ? 0 : min(max(q, 0), 1) * Double(s.count - 1)
    return s[Int(position.rounded())]
  }
}
