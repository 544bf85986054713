extension ModelFamily {
  /// GGUF `general.architecture` values, each with the family that runs it.
  static let ggufArchitectures: [String: ModelFamily] = [
    "llama": .llama, "mistral": .llama, "qwen2": .qwen2, "qwen3": .qwen3, "gemma2": .gemma2,
  ]
}

extension DecoderConfiguration {
  /// Reads `{arch}.*` keys of a GGUF file; `vocabularySize` falls back to the token list's length.
  public init(metadata: [String: GGUFValue]) throws {
    func value(_ key: String) throws -> GGUFValue {
      guard let v = metadata[key] else { throw ModelError.missingKey(key) }
      return v
    }
    func int(_ key: String) throws -> Int {
      guard let v = try value(key).int else { throw ModelError.wrongKeyType(key: key, expected: "an integer") }
      return v
    }
    func number(_ key: String) throws -> Double? {
      guard let v = metadata[key] else { return nil }
      guard let d = v.double else { throw ModelError.wrongKeyType(key: key, expected: "a number") }
      return d
    }
    guard let arch = try value("general.architecture").string else {
      throw ModelError.wrongKeyType(key: "general.architecture", expected: "a string")
    }
    guard let family = ModelFamily.ggufArchitectures[arch] else {
      throw ModelError.unsupportedArchitecture(arch, known: ModelFamily.ggufArchitectures.keys.sorted())
    }
    let layerCount = try int("\(arch).block_count")
    let headCount = try int("\(arch).attention.head_count")
    let d = try int("\(arch).embedding_length")
    guard let eps = try number("\(arch).attention.layer_norm_rms_epsilon") else {
      throw ModelError.missingKey("\(arch).attention.layer_norm_rms_epsilon")
    }
    self.init(
      architecture: arch, family: family, name: metadata["general.name"]?.string ?? "unnamed",
      layerCount: layerCount, modelDimension: d,
      feedForwardDimension: try int("\(arch).feed_forward_length"), headCount: headCount,
      keyValueHeadCount: metadata["\(arch).attention.head_count_kv"]?.int ?? headCount,
      // As llama.cpp: key_length, else the embedding split over the heads; rope.dimension_count is
      // how many of those dimensions rotate, checked below.
      headDimension: metadata["\(arch).attention.key_length"]?.int ?? (headCount > 0 ? d / headCount : 0),
      contextLength: try int("\(arch).context_length"), ropeBase: try number("\(arch).rope.freq_base") ?? 10_000,
      // llama.cpp's converter permutes Q/K of `llama` weights to adjacent pairs; the others keep NEOX order.
      ropeLayout: family == .llama ? .adjacentPairs : .halfSplit, rmsNormEpsilon: Float(eps),
      vocabularySize: metadata["\(arch).vocab_size"]?.int ?? metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0)
    if let valueLength = metadata["\(arch).attention.value_length"]?.int, valueLength != headDimension {
      throw ModelError.invalidConfiguration("\(arch).attention.value_length \(valueLength) differs from key_length \(headDimension)")
    }
    // Partial rotary embeddings (fewer rotated dimensions than a head has) are not implemented;
    // running them as full rotations would give wrong logits without a word.
    if let rotated = metadata["\(arch).rope.dimension_count"]?.int, rotated != headDimension {
      throw ModelError.invalidConfiguration(
        "\(arch).rope.dimension_count \(rotated) differs from the head dimension \(headDimension); partial rotary embeddings are not supported"
      )
    }
    if family == .gemma2 {
      attentionSoftcap = try number("gemma2.attn_logit_softcapping").map(Float.init)
      finalSoftcap = try number("gemma2.final_logit_softcapping").map(Float.init)
      slidingWindow = metadata["gemma2.attention.sliding_window"]?.int
      // llama.cpp scales Gemma-2 2B/9B queries by 1/√key_length (their query_pre_attn_scalar).
    }
    try validate()
  }
}
