extension ModelFamily {
  /// Qwen2 and Qwen2.5: Llama plus biases on the query, key and value projections.
  public static let qwen2 = ModelFamily(rawValue: "qwen2")
}

extension FamilyDescription {
  static let qwen2 = FamilyDescription(
    family: .qwen2, ggufArchitectures: ["qwen2"], huggingFaceArchitectures: ["Qwen2ForCausalLM"],
    huggingFaceModelTypes: ["qwen2"], allowsAttentionBias: true,
    defaults: { $0.attentionBias = true },
    readHuggingFace: { file, _ in
      // Qwen2's sliding window (off in every released checkpoint) is not implemented.
      if try file.bool("use_sliding_window") == true { throw file.fail("use_sliding_window", "is true; not supported") }
    })
}
