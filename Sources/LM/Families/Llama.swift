extension ModelFamily {
  /// Llama 2/3/3.1/3.2, Mistral, SmolLM: biasless projections, SwiGLU.
  public static let llama = ModelFamily(rawValue: "llama")
}

extension FamilyDescription {
  static let llama = FamilyDescription(
    family: .llama, ggufArchitectures: ["llama", "mistral"],
    huggingFaceArchitectures: ["LlamaForCausalLM", "MistralForCausalLM"], huggingFaceModelTypes: ["llama", "mistral"],
    ggufRopeLayout: .adjacentPairs)
}
