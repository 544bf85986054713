extension ModelFamily {
  /// Qwen3: Llama plus a per-head RMSNorm on queries and keys before RoPE.
  public static let qwen3 = ModelFamily(rawValue: "qwen3")
}

extension FamilyDescription {
  static let qwen3 = FamilyDescription(
    family: .qwen3, ggufArchitectures: ["qwen3"], huggingFaceArchitectures: ["Qwen3ForCausalLM"],
    huggingFaceModelTypes: ["qwen3"], defaults: { $0.queryKeyNorm = true })
}
