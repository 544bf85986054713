/// AxBench's trade-off of concept score against fluency across steering factors: for each method
/// (its `@trained` rows left out) and each factor it was scored at, the mean over concepts of the
/// test scores (the selection scores where a factor has no test half). report.md's tradeoff.svg and
/// report.html's interactive plot both draw this one series.
public struct TradeoffSeries: Sendable {
  /// One factor of one method: Σ over concepts / concepts, for each score.
  public struct Point: Sendable, Equatable {
    public var factor: Float
    public var concept: Double
    public var fluency: Double
    public var harmonic: Double
    /// How many concepts the means are over.
    public var units: Int
  }

  /// Methods by name, each with its points by factor.
  public var lines: [(method: String, points: [Point])]

  public var isEmpty: Bool { lines.isEmpty }

  public init(_ results: BenchResults) {
    var sums: [String: [Float: (c: Double, f: Double, h: Double, n: Double)]] = [:]
    for u in results.units where u.bench == .axbench {
      for m in u.methods where !m.trained {
        for fr in m.factors {
          let s = fr.test ?? fr.select
          var p = sums[m.method, default: [:]][fr.factor] ?? (0, 0, 0, 0)
          p = (p.c + (s.conceptScore ?? 0), p.f + (s.fluencyScore ?? 0), p.h + (s.harmonic ?? 0), p.n + 1)
          sums[m.method, default: [:]][fr.factor] = p
        }
      }
    }
    lines = sums.keys.sorted().map { method in
      let points = sums[method]!.sorted { $0.key < $1.key }.map { factor, p in
        Point(factor: factor, concept: p.c / p.n, fluency: p.f / p.n, harmonic: p.h / p.n, units: Int(p.n))
      }
      return (method, points)
    }
  }
}
