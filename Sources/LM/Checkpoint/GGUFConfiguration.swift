import Foundation

/// The `{architecture}.*` keys of a GGUF file, with errors that name the key and the type it
/// should have had. A key that is absent reads as nil; one of the wrong type is an error.
struct GGUFKeys {
  let metadata: [String: GGUFValue]
  let architecture: String

  func key(_ suffix: String) -> String { "\(architecture).\(suffix)" }

  func int(_ suffix: String) throws -> Int? {
    guard let v = metadata[key(suffix)] else { return nil }
    guard let i = v.int else { throw ModelError.wrongKeyType(key: key(suffix), expected: "an integer") }
    return i
  }

  func number(_ suffix: String) throws -> Double? {
    guard let v = metadata[key(suffix)] else { return nil }
    guard let d = v.double, d.isFinite else { throw ModelError.wrongKeyType(key: key(suffix), expected: "a number") }
    return d
  }

  func string(_ suffix: String) throws -> String? {
    guard let v = metadata[key(suffix)] else { return nil }
    guard let s = v.string else { throw ModelError.wrongKeyType(key: key(suffix), expected: "a string") }
    return s
  }

  /// An array of booleans, or nil when the key is absent or holds something else (a number).
  func boolArray(_ suffix: String) throws -> [Bool]? {
    guard let v = metadata[key(suffix)]?.array else { return nil }
    let flags = v.compactMap(\.bool)
    guard flags.count == v.count else { throw ModelError.wrongKeyType(key: key(suffix), expected: "an array of booleans") }
    return flags
  }

  func required(_ suffix: String) throws -> Int {
    guard let v = try int(suffix) else { throw ModelError.missingKey(key(suffix)) }
    return v
  }
}

extension DecoderConfiguration {
  /// Reads `{arch}.*` keys of a GGUF file; `vocabularySize` falls back to the token list's length.
  public init(metadata: [String: GGUFValue]) throws {
    guard let archValue = metadata["general.architecture"] else { throw ModelError.missingKey("general.architecture") }
    guard let arch = archValue.string else {
      throw ModelError.wrongKeyType(key: "general.architecture", expected: "a string")
    }
    guard let description = FamilyRegistry.gguf(arch) else {
      throw ModelError.unsupportedArchitecture(arch, known: FamilyRegistry.ggufArchitectures)
    }
    let keys = GGUFKeys(metadata: metadata, architecture: arch)
    let layerCount = try keys.required("block_count")
    let headCount = try keys.required("attention.head_count")
    let d = try keys.required("embedding_length")
    guard let eps = try keys.number("attention.layer_norm_rms_epsilon") else {
      throw ModelError.missingKey(keys.key("attention.layer_norm_rms_epsilon"))
    }
    self.init(
      architecture: arch, family: description.family, name: metadata["general.name"]?.string ?? "unnamed",
      layerCount: layerCount, modelDimension: d,
      feedForwardDimension: try keys.required("feed_forward_length"), headCount: headCount,
      keyValueHeadCount: try keys.int("attention.head_count_kv") ?? headCount,
      // As llama.cpp: key_length, else the embedding split over the heads; rope.dimension_count is
      // how many of those dimensions rotate, checked below.
      headDimension: try keys.int("attention.key_length") ?? (headCount > 0 ? d / headCount : 0),
      contextLength: try keys.required("context_length"), ropeBase: try keys.number("rope.freq_base") ?? 10_000,
      ropeLayout: description.ggufRopeLayout, rmsNormEpsilon: Float(eps),
      vocabularySize: try keys.int("vocab_size") ?? metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0)
    if let valueLength = try keys.int("attention.value_length"), valueLength != headDimension {
      throw ModelError.invalidConfiguration("\(arch).attention.value_length \(valueLength) differs from key_length \(headDimension)")
    }
    // Partial rotary embeddings (fewer rotated dimensions than a head has) are not implemented;
    // running them as full rotations would give wrong logits without a word.
    if let rotated = try keys.int("rope.dimension_count"), rotated != headDimension {
      throw ModelError.invalidConfiguration(
        "\(arch).rope.dimension_count \(rotated) differs from the head dimension \(headDimension); partial rotary embeddings are not supported"
      )
    }
    ropeScaling = try Self.ropeScaling(keys)
    // Experts, as llama.cpp reads them for every architecture (Mixtral is a `llama` file with
    // experts); llama.cpp normalises the chosen weights unless the file says otherwise.
    if let count = try keys.int("expert_count"), count > 0 {
      experts = MixtureOfExperts(
        count: count, perToken: try keys.required("expert_used_count"),
        feedForwardDimension: try keys.int("expert_feed_forward_length") ?? feedForwardDimension,
        normalizesWeights: metadata[keys.key("expert_weights_norm")]?.bool ?? true)
      if try keys.int("expert_shared_count").map({ $0 > 0 }) == true || metadata["blk.0.ffn_gate_shexp.weight"] != nil {
        throw ModelError.invalidConfiguration("\(arch): shared experts (Qwen2-MoE, DeepSeek) are not supported")
      }
    }
    try description.readGGUF(keys, &self)
    try validate()
  }

  /// `rope.scaling.*`: linear, or LongRoPE (whose factors are the file's `rope_factors_*`
  /// tensors). Llama 3.1's scaling travels as `rope_freqs.weight` instead and needs no key here.
  private static func ropeScaling(_ keys: GGUFKeys) throws -> RopeScaling? {
    guard let type = try keys.string("rope.scaling.type"), type != "none" else { return nil }
    switch type {
    case "linear":
      guard let factor = try keys.number("rope.scaling.factor"), factor > 0 else {
        throw ModelError.invalidConfiguration("\(keys.key("rope.scaling.factor")) must be positive for linear scaling")
      }
      return factor == 1 ? nil : RopeScaling(kind: .linear, factor: factor)
    case "longrope":
      guard let original = try keys.int("rope.scaling.original_context_length"), original >= 2 else {
        throw ModelError.missingKey(keys.key("rope.scaling.original_context_length"))
      }
      return RopeScaling(
        kind: .longrope, factor: 1, originalContextLength: original,
        attentionFactor: try keys.number("rope.scaling.attn_factor") ?? 1)
    default:
      throw ModelError.invalidConfiguration(
        "\(keys.key("rope.scaling.type")) is '\(type)'; supported: none, linear, longrope")
    }
  }
}
