import Tensor

/// The rotary tables a model's layers use: the global layers', the sliding layers' where their
/// base differs (Gemma 3), and LongRoPE's tables for sequences beyond the original context.
///
/// LongRoPE follows transformers: a sequence whose length exceeds `originalContextLength` is
/// rotated with the long factors, every position of it, else with the short ones. The choice is
/// made per sequence of a packed batch (transformers makes it per batch), so that a sequence's
/// outputs do not depend on what it is batched with. Keys already in a cache keep the rotation
/// they were stored with, as in transformers' cached decoding.
struct RopeSet: Sendable {
  let global: RotaryEmbedding
  let globalLong: RotaryEmbedding?
  let local: RotaryEmbedding?
  /// Sequences longer than this use `globalLong`.
  let longBeyond: Int?
  /// Per layer, whether it slides (and so rotates with `local` where there is one).
  let sliding: [Bool]

  init(configuration c: DecoderConfiguration, weights: DecoderWeights) {
    sliding = (0..<c.layerCount).map { c.window(layer: $0) != nil }
    let halfSplit = c.ropeLayout == .halfSplit
    func table(_ factors: [Float]?, local: Bool = false) -> RotaryEmbedding {
      let magnitude = !local && c.ropeScaling?.kind == .longrope ? c.ropeScaling!.attentionFactor : 1
      return RotaryEmbedding(
        headDimension: c.headDimension, inverseFrequencies: c.ropeInverseFrequencies(frequencyFactors: factors, local: local),
        halfSplit: halfSplit, magnitude: magnitude)
    }
    if let s = c.ropeScaling, s.kind == .longrope {
      let short = s.shortFactors.map { $0.map(Float.init) } ?? weights.ropeShortFactors
      let long = s.longFactors.map { $0.map(Float.init) } ?? weights.ropeLongFactors
      global = table(short)
      globalLong = long.map { table($0) }
      longBeyond = long == nil ? nil : s.originalContextLength
    } else {
      global = table(weights.ropeFrequencyFactors)
      globalLong = nil
      longBeyond = nil
    }
    local = c.localRopeBase == nil ? nil : table(nil, local: true)
  }

  /// The table of layer `layer` for a sequence that ends (exclusive) at position `end`.
  func rope(layer: Int, sequenceEnd end: Int) -> RotaryEmbedding {
    if let local, sliding[layer] { return local }
    if let globalLong, let longBeyond, end > longBeyond { return globalLong }
    return global
  }

  func reserve(positions count: Int) {
    for table in [global, globalLong, local].compactMap({ $0 }) { table.reserve(positions: count) }
  }
}
