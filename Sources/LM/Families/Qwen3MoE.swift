extension ModelFamily {
  /// Qwen3-MoE (Qwen3-30B-A3B): Qwen3's attention, and a mixture of experts in every block: a
  /// softmax router, the top k experts, their weights renormalised (`norm_topk_prob`).
  public static let qwen3moe = ModelFamily(rawValue: "qwen3moe")
}

extension FamilyDescription {
  static let qwen3moe = FamilyDescription(
    family: .qwen3moe, ggufArchitectures: ["qwen3moe"], huggingFaceArchitectures: ["Qwen3MoeForCausalLM"],
    huggingFaceModelTypes: ["qwen3_moe"], blockTensorNames: ["mlp.gate.weight": "ffn_gate_inp.weight"],
    expertTensorNames: ("mlp.experts.", ["gate_proj.weight": "ffn_gate", "up_proj.weight": "ffn_up", "down_proj.weight": "ffn_down"]),
    defaults: { $0.queryKeyNorm = true },
    readHuggingFace: { file, c in
      // Every block is sparse in the released models; dense blocks between them are not supported.
      if let step = try file.optionalInt("decoder_sparse_step"), step != 1 {
        throw file.fail("decoder_sparse_step", "is \(step); only models whose every block has experts (1) are supported")
      }
      if let dense = file.json["mlp_only_layers"] as? [Any], !dense.isEmpty {
        throw file.fail("mlp_only_layers", "lists dense layers; only models whose every block has experts are supported")
      }
      // Hub configs say num_experts; transformers 5 writes num_local_experts.
      guard let count = try file.optionalInt("num_experts") ?? file.optionalInt("num_local_experts"),
        let perToken = try file.optionalInt("num_experts_per_tok"), let width = try file.optionalInt("moe_intermediate_size")
      else { throw file.fail("num_experts", "is missing (as are num_local_experts), or num_experts_per_tok or moe_intermediate_size is") }
      c.experts = MixtureOfExperts(
        count: count, perToken: perToken, feedForwardDimension: width,
        normalizesWeights: try file.bool("norm_topk_prob") ?? false)
    })
}
