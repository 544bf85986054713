extension ModelFamily {
  /// Mixtral: Llama's attention and a mixture of experts in every block (softmax router, top k,
  /// weights renormalised). llama.cpp's GGUF files call it `llama`, with expert tensors.
  public static let mixtral = ModelFamily(rawValue: "mixtral")
}

extension FamilyDescription {
  static let mixtral = FamilyDescription(
    family: .mixtral, ggufArchitectures: [], huggingFaceArchitectures: ["MixtralForCausalLM"],
    huggingFaceModelTypes: ["mixtral"],
    // MixtralConfig's RoPE base when config.json leaves it out.
    huggingFaceDefaults: ["rope_theta": 1_000_000],
    blockTensorNames: ["block_sparse_moe.gate.weight": "ffn_gate_inp.weight"],
    expertTensorNames: ("block_sparse_moe.experts.", ["w1.weight": "ffn_gate", "w3.weight": "ffn_up", "w2.weight": "ffn_down"]),
    readHuggingFace: { file, c in
      guard let count = try file.optionalInt("num_local_experts"), let perToken = try file.optionalInt("num_experts_per_tok") else {
        throw file.fail("num_local_experts", "and num_experts_per_tok are required")
      }
      c.experts = MixtureOfExperts(count: count, perToken: perToken, feedForwardDimension: c.feedForwardDimension, normalizesWeights: true)
    })
}
