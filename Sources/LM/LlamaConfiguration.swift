/// The hyper-parameters of a Llama-family model, read from GGUF metadata and validated.
public struct LlamaConfiguration: Codable, Equatable, Sendable {
  public var architecture: String
  public var name: String
  public var layerCount: Int
  public var modelDimension: Int
  public var feedForwardDimension: Int
  public var headCount: Int
  public var keyValueHeadCount: Int
  public var headDimension: Int
  public var contextLength: Int
  public var ropeBase: Double
  public var rmsNormEpsilon: Float
  public var vocabularySize: Int

  public var queryDimension: Int { headCount * headDimension }
  public var keyValueDimension: Int { keyValueHeadCount * headDimension }
  /// Query heads that share one key/value head.
  public var groupSize: Int { headCount / keyValueHeadCount }

  /// Reads `{arch}.*` keys; `vocabularySize` falls back to the token list's length.
  public init(metadata: [String: GGUFValue]) throws {
    func value(_ key: String) throws -> GGUFValue {
      guard let v = metadata[key] else { throw ModelError.missingKey(key) }
      return v
    }
    func int(_ key: String) throws -> Int {
      guard let v = try value(key).int else { throw ModelError.wrongKeyType(key: key, expected: "an integer") }
      return v
    }
    guard let arch = try value("general.architecture").string else {
      throw ModelError.wrongKeyType(key: "general.architecture", expected: "a string")
    }
    guard arch == "llama" else { throw ModelError.unsupportedArchitecture(arch) }
    architecture = arch
    name = metadata["general.name"]?.string ?? "unnamed"
    layerCount = try int("llama.block_count")
    modelDimension = try int("llama.embedding_length")
    feedForwardDimension = try int("llama.feed_forward_length")
    headCount = try int("llama.attention.head_count")
    keyValueHeadCount = metadata["llama.attention.head_count_kv"]?.int ?? headCount
    headDimension =
      metadata["llama.attention.key_length"]?.int ?? metadata["llama.rope.dimension_count"]?.int
      ?? (headCount > 0 ? modelDimension / headCount : 0)
    contextLength = try int("llama.context_length")
    ropeBase = metadata["llama.rope.freq_base"]?.double ?? 10_000
    guard let eps = try value("llama.attention.layer_norm_rms_epsilon").double else {
      throw ModelError.wrongKeyType(key: "llama.attention.layer_norm_rms_epsilon", expected: "a number")
    }
    rmsNormEpsilon = Float(eps)
    vocabularySize = metadata["llama.vocab_size"]?.int ?? metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0
    try validate()
  }

  /// Checks the invariants the forward pass relies on.
  public func validate() throws {
    func require(_ ok: Bool, _ why: String) throws {
      if !ok { throw ModelError.invalidConfiguration(why) }
    }
    try require(layerCount > 0 && layerCount <= 1024, "block_count \(layerCount) is out of range")
    try require(modelDimension > 0 && modelDimension <= 65536, "embedding_length \(modelDimension) is out of range")
    try require(feedForwardDimension > 0 && feedForwardDimension <= 262_144, "feed_forward_length is out of range")
    try require(headCount > 0 && keyValueHeadCount > 0, "head counts must be positive")
    try require(headCount % keyValueHeadCount == 0, "head_count \(headCount) is not a multiple of head_count_kv \(keyValueHeadCount)")
    try require(headDimension > 0 && headDimension % 2 == 0, "head dimension \(headDimension) must be even and positive")
    try require(contextLength > 0, "context_length must be positive")
    try require(ropeBase > 1, "rope.freq_base \(ropeBase) must exceed 1")
    try require(rmsNormEpsilon > 0 && rmsNormEpsilon < 1, "rms epsilon \(rmsNormEpsilon) is out of range")
    try require(vocabularySize > 0, "vocabulary is empty")
  }
}
