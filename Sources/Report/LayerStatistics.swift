/// Per-token ‖Δ‖ and cos(Δ, Δ̄) at one layer, and their summaries; sums in Double.
struct LayerStatistics {
  let norms: [Double]
  let cosines: [Double]
  let sumSquares: Double
  let meanNorm: Double
  let topDecileShare: Double
  let percentile99: Double

  init(delta: [Float], width d: Int) {
    let n = d == 0 ? 0 : delta.count / d
    var mean = [Double](repeating: 0, count: d)
    var norms = [Double](repeating: 0, count: n)
    for t in 0..<n {
      var s = 0.0
      for i in 0..<d {
        let v = Double(delta[t * d + i])
        mean[i] += v
        s += v * v
      }
      norms[t] = s.squareRoot()
    }
    for i in 0..<d { mean[i] /= Double(max(1, n)) }
    let meanLength = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
    cosines = (0..<n).map { t in
      guard norms[t] > 0, meanLength > 0 else { return 0 }
      var dot = 0.0
      for i in 0..<d { dot += Double(delta[t * d + i]) * mean[i] }
      return dot / (norms[t] * meanLength)
    }
    self.norms = norms
    let squares = norms.map { $0 * $0 }.sorted(by: >)
    sumSquares = squares.reduce(0, +)
    meanNorm = norms.reduce(0, +) / Double(max(1, n))
    let top = max(1, Int((Double(n) * 0.1).rounded(.up)))
    topDecileShare = sumSquares > 0 ? squares.prefix(top).reduce(0, +) / sumSquares : 0
    let sorted = norms.sorted()
    percentile99 = sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * 0.99))]
  }
}
