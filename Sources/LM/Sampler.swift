import Foundation
import Tensor

/// A small, fast, seedable generator (SplitMix64); the same seed gives the same stream
/// on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform Float in [0, 1) with 24 random bits.
  public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }

  /// An independent stream for item `index` of a run seeded with `seed`.
  public static func stream(seed: UInt64, index: Int) -> SeededGenerator {
    var g = SeededGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
    _ = g.next()
    return g
  }
}

/// How the next token is chosen from logits.
public struct SamplingParameters: Codable, Equatable, Sendable {
  /// 0 means greedy (argmax).
  public var temperature: Float
  /// Keep only the k most likely tokens; 0 keeps all.
  public var topK: Int
  /// Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.
  public var topP: Float
  public var seed: UInt64

  public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.seed = seed
  }

  public static let greedy = SamplingParameters()
}

/// Picks tokens from a row of logits.
public enum Sampler {
  /// The next token for `logits` (one row of `count` values).
  public static func sample(
    _ logits: UnsafePointer<Float>, count: Int, parameters p: SamplingParameters, generator: inout SeededGenerator
  ) -> Int {
    if p.temperature <= 0 { return argmax(logits, count: count) }
    var candidates: [(id: Int, logit: Float)]
    if p.topK > 0 || p.topP < 1 {
      candidates = (0..<count).map { ($0, logits[$0]) }
      candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
      if p.topK > 0 && p.topK < candidates.count { candidates.removeLast(candidates.count - p.topK) }
    } else {
      candidates = (0..<count).map { ($0, logits[$0]) }
    }
    let maxLogit = candidates.reduce(-Float.infinity) { max($0, $1.logit) }
    var weights = candidates.map { expf(($0.logit - maxLogit) / p.temperature) }
    var total = weights.reduce(0, +)
    if p.topP < 1 {
      // Candidates are sorted here; keep the shortest prefix reaching topP of the mass.
      var cumulative: Float = 0
      var keep = weights.count
      for (i, w) in weights.enumerated() {
        cumulative += w / total
        if cumulative >= p.topP {
          keep = i + 1
          break
        }
      }
      weights.removeLast(weights.count - keep)
      total = weights.reduce(0, +)
    }
    let target = generator.nextUnit() * total
    var running: Float = 0
    for (i, w) in weights.enumerated() {
      running += w
      if running > target { return candidates[i].id }
    }
    return candidates[weights.count - 1].id
  }

  /// The index of the largest value; the lowest index on ties.
  public static func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
    var best = 0
    for i in 1..<count where x[i] > x[best] { best = i }
    return best
  }

  /// The k largest log-probabilities (log-softmax of the logits), best first.
  public static func topLogProbabilities(_ logits: UnsafePointer<Float>, count: Int, k: Int) -> [(id: Int, logProbability: Float)] {
    let lse = Kernels.logSumExp(logits, count: count)
    var top: [(id: Int, logProbability: Float)] = []
    for i in 0..<count {
      let v = logits[i] - lse
      if top.count < k || v > top[top.count - 1].logProbability {
        let at = top.firstIndex { v > $0.logProbability } ?? top.count
        top.insert((i, v), at: at)
        if top.count > k { top.removeLast() }
      }
    }
    return top
  }
}
