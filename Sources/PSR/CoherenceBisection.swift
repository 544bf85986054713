/// The one rule by which a steering factor is matched to a coherence target (`psr tune-alpha
/// --target-coherence`, and compare's trait-at-matched-coherence).
///
/// Coherence falls as steering grows, so the factor is bisected on [0, maxFactor]: a factor whose
/// coherence reaches the target raises the lower bound, one below it lowers the upper bound. The
/// choice among every factor tried (those given in `tried` too) is the largest whose coherence
/// reaches the target, the strongest steering that stays as coherent as asked; when none reaches it,
/// the one whose coherence is closest to the target.
public enum CoherenceBisection {
  public static func search<Result>(
    target: Double, maxFactor: Float, steps: Int, tried: [Result] = [], factor: (Result) -> Float, coherence: (Result) -> Double,
    evaluate: (Float) throws -> Result
  ) rethrows -> (best: Result, tried: [Result]) {
    var all = tried
    var lo: Float = 0
    var hi = maxFactor
    for _ in 0..<steps {
      let mid = (lo + hi) / 2
      let r = try evaluate(mid)
      all.append(r)
      if coherence(r) >= target { lo = mid } else { hi = mid }
    }
    if all.isEmpty { all.append(try evaluate(0)) }
    let reaching = all.filter { coherence($0) >= target }
    let best =
      reaching.max { factor($0) < factor($1) }
      ?? all.min { abs(coherence($0) - target) < abs(coherence($1) - target) }!
    return (best, all)
  }
}
