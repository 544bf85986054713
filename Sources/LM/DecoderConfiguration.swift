import Foundation

/// How RoPE pairs the components of a head vector.
public enum RopeLayout: String, Codable, Sendable {
  /// (x[2i], x[2i+1]): GGUF `llama` weights, whose converter permuted Q and K to this order.
  case adjacentPairs
  /// (x[i], x[i + D/2]): Hugging Face's `rotate_half`, and GGUF files of NEOX-style families.
  case halfSplit
}

/// The gate nonlinearity of the gated feed-forward block: `down(act(gate(x)) ⊙ up(x))`.
public enum GateActivation: String, Codable, Sendable {
  /// x·σ(x) (SwiGLU).
  case silu
  /// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), PyTorch's `gelu(approximate="tanh")`.
  case geluTanh
}

/// The hyper-parameters of a decoder, read from GGUF metadata or a Hugging Face `config.json`
/// and validated. The switches below are everything that tells the supported families apart.
public struct DecoderConfiguration: Codable, Equatable, Sendable {
  /// The name the file gives its architecture (`general.architecture` or `architectures[0]`).
  public var architecture: String
  public var family: ModelFamily
  public var name: String
  public var layerCount: Int
  public var modelDimension: Int
  public var feedForwardDimension: Int
  public var headCount: Int
  public var keyValueHeadCount: Int
  public var headDimension: Int
  public var contextLength: Int
  public var ropeBase: Double
  public var ropeLayout: RopeLayout
  /// Frequency scaling of long-context checkpoints (GGUF files carry it as `rope_freqs.weight`).
  public var ropeScaling: RopeScaling?
  public var rmsNormEpsilon: Float
  public var vocabularySize: Int
  /// Added to every RMSNorm weight at load: 1 for Gemma checkpoints, which store w of (1 + w)
  /// (llama.cpp's converter has already added it to GGUF files, so those say 0).
  public var normWeightOffset: Float = 0
  public var activation: GateActivation = .silu
  /// Biases on the query, key and value projections.
  public var attentionBias = false
  /// RMSNorm of each query and key head before RoPE.
  public var queryKeyNorm = false
  /// Norms on the outputs of attention and of the feed-forward block, before the residual add.
  public var sandwichNorms = false
  /// Multiplies the query-key dot products: 1/√headDimension unless the family says otherwise.
  public var attentionScale: Float
  /// Attention scores become c·tanh(s/c) before the softmax, when set.
  public var attentionSoftcap: Float?
  /// Logits become c·tanh(z/c), when set.
  public var finalSoftcap: Float?
  /// Keys older than this many positions (the query's own included) are masked on sliding layers.
  public var slidingWindow: Int?
  /// Which layers slide (`slidingLayers[l]`); empty when none does.
  public var slidingLayers: [Bool] = []
  /// The RoPE base of sliding layers, which then rotate without `ropeScaling` (Gemma 3's
  /// `rope_local_base_freq`); nil when they rotate as global layers do.
  public var localRopeBase: Double?
  /// Multiplies the token embeddings (√d for Gemma).
  public var embeddingScale: Float?
  /// A mixture of experts in place of every block's feed-forward (Qwen3-MoE, Mixtral).
  public var experts: MixtureOfExperts?

  public var queryDimension: Int { headCount * headDimension }
  public var keyValueDimension: Int { keyValueHeadCount * headDimension }
  /// Query heads that share one key/value head.
  public var groupSize: Int { headCount / keyValueHeadCount }

  /// θᵢ = base^(−2i/D) for each rotated pair i < D/2, after `ropeScaling`, each divided by
  /// `frequencyFactors[i]` when given (llama.cpp's `rope_freqs.weight`, LongRoPE's short or long
  /// factors). With `local`, the sliding layers' θᵢ = localBase^(−2i/D), unscaled.
  public func ropeInverseFrequencies(frequencyFactors: [Float]? = nil, local: Bool = false) -> [Double] {
    let dim = Double(headDimension)
    if local, let localRopeBase { return (0..<(headDimension / 2)).map { pow(localRopeBase, -Double(2 * $0) / dim) } }
    return (0..<(headDimension / 2)).map { i in
      var theta = pow(ropeBase, -Double(2 * i) / dim)
      if let s = ropeScaling {
        switch s.kind {
        case .longrope: break
        case .linear: theta /= s.factor
        case .llama3:
          let wavelength = 2 * Double.pi / theta
          let lowWavelength = Double(s.originalContextLength) / s.lowFrequencyFactor
          let highWavelength = Double(s.originalContextLength) / s.highFrequencyFactor
          if wavelength > lowWavelength {
            theta /= s.factor
          } else if wavelength >= highWavelength {
            let smooth =
              (Double(s.originalContextLength) / wavelength - s.lowFrequencyFactor)
              / (s.highFrequencyFactor - s.lowFrequencyFactor)
            theta = (1 - smooth) * theta / s.factor + smooth * theta
          }
        }
      }
      if let frequencyFactors { theta /= Double(frequencyFactors[i]) }
      return theta
    }
  }

  /// Parameters of the projections and embeddings (norms and biases left out).
  public func parameterCount(tiedOutput: Bool) -> Int {
    let feedForward =
      experts.map { $0.count * 3 * modelDimension * $0.feedForwardDimension + $0.count * modelDimension }
      ?? 3 * modelDimension * feedForwardDimension
    let block = modelDimension * (queryDimension + 2 * keyValueDimension) + queryDimension * modelDimension + feedForward
    return layerCount * block + vocabularySize * modelDimension * (tiedOutput ? 1 : 2)
  }

  /// The window of layer `l`, or nil where it attends to everything before it.
  public func window(layer l: Int) -> Int? {
    guard let slidingWindow, l < slidingLayers.count, slidingLayers[l] else { return nil }
    return slidingWindow
  }

  /// Layers 0..<count of which those with `l % pattern < pattern − 1` slide: Gemma-2's 2 (even
  /// layers), Gemma 3's 6 (five sliding, then one global); 1 or less: none.
  public static func slidingLayers(pattern: Int, count: Int) -> [Bool] {
    guard pattern > 1 else { return [] }
    return (0..<count).map { $0 % pattern < pattern - 1 }
  }

  /// Checks the invariants the forward pass relies on.
  public func validate() throws {
    func require(_ ok: Bool, _ why: String) throws {
      if !ok { throw ModelError.invalidConfiguration(why) }
    }
    try require(layerCount > 0 && layerCount <= 1024, "block_count \(layerCount) is out of range")
    try require(modelDimension > 0 && modelDimension <= 65536, "embedding_length \(modelDimension) is out of range")
    try require(feedForwardDimension > 0 && feedForwardDimension <= 262_144, "feed_forward_length is out of range")
    try require(headCount > 0 && keyValueHeadCount > 0 && headCount <= 1024, "head counts must be positive")
    try require(headCount % keyValueHeadCount == 0, "head_count \(headCount) is not a multiple of head_count_kv \(keyValueHeadCount)")
    try require(
      headDimension > 0 && headDimension % 2 == 0 && headDimension <= 4096, "head dimension \(headDimension) must be even and positive")
    try require(contextLength > 0 && contextLength <= 1 << 24, "context_length \(contextLength) is out of range")
    try require(ropeBase > 1 && ropeBase.isFinite, "rope.freq_base \(ropeBase) must exceed 1")
    try require(rmsNormEpsilon > 0 && rmsNormEpsilon < 1, "rms epsilon \(rmsNormEpsilon) is out of range")
    try require(vocabularySize > 0 && vocabularySize <= 1 << 22, "vocabulary size \(vocabularySize) is out of range")
    try require(attentionScale > 0 && attentionScale.isFinite, "attention scale \(attentionScale) must be positive")
    for (name, cap) in [("attention", attentionSoftcap), ("final", finalSoftcap)] {
      if let cap { try require(cap > 0 && cap.isFinite, "\(name) soft-cap \(cap) must be positive") }
    }
    if let slidingWindow { try require(slidingWindow > 0, "sliding window \(slidingWindow) must be positive") }
    try require(
      slidingLayers.isEmpty || slidingLayers.count == layerCount,
      "the sliding-layer pattern names \(slidingLayers.count) layers, the model has \(layerCount)")
    if let localRopeBase { try require(localRopeBase > 1 && localRopeBase.isFinite, "local RoPE base \(localRopeBase) must exceed 1") }
    if let s = ropeScaling, s.kind == .longrope {
      for (name, factors) in [("short", s.shortFactors), ("long", s.longFactors)] {
        guard let factors else { continue }
        try require(
          factors.count == headDimension / 2 && factors.allSatisfy { $0 > 0 && $0.isFinite },
          "LongRoPE \(name) factors must be \(headDimension / 2) positive numbers, found \(factors.count)")
      }
      try require(s.attentionFactor > 0 && s.attentionFactor.isFinite, "LongRoPE attention factor must be positive")
      try require(s.originalContextLength > 0, "LongRoPE original context must be positive")
    }
    if let embeddingScale { try require(embeddingScale > 0 && embeddingScale.isFinite, "embedding scale must be positive") }
    try experts?.validate()
  }
}

extension DecoderConfiguration {
  /// The family's defaults for everything but the shape, which the readers fill in.
  init(
    architecture: String, family: ModelFamily, name: String, layerCount: Int, modelDimension: Int, feedForwardDimension: Int,
    headCount: Int, keyValueHeadCount: Int, headDimension: Int, contextLength: Int, ropeBase: Double, ropeLayout: RopeLayout,
    rmsNormEpsilon: Float, vocabularySize: Int
  ) {
    self.architecture = architecture
    self.family = family
    self.name = name
    self.layerCount = layerCount
    self.modelDimension = modelDimension
    self.feedForwardDimension = feedForwardDimension
    self.headCount = headCount
    self.keyValueHeadCount = keyValueHeadCount
    self.headDimension = headDimension
    self.contextLength = contextLength
    self.ropeBase = ropeBase
    self.ropeLayout = ropeLayout
    self.rmsNormEpsilon = rmsNormEpsilon
    self.vocabularySize = vocabularySize
    attentionScale = headDimension > 0 ? 1 / Float(headDimension).squareRoot() : 1
    FamilyRegistry.description(of: family).defaults(&self)
  }
}
