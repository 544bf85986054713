import Foundation

extension ModelFamily {
  /// Phi-3 and Phi-3.5 (mini, medium): Llama with fused QKV and gate-up tensors, LongRoPE on
  /// the 128k checkpoints, and (as transformers runs it) a sliding window on every layer.
  public static let phi3 = ModelFamily(rawValue: "phi3")
}

extension FamilyDescription {
  static let phi3 = FamilyDescription(
    family: .phi3, ggufArchitectures: ["phi3"], huggingFaceArchitectures: ["Phi3ForCausalLM"], huggingFaceModelTypes: ["phi3"],
    blockTensorNames: ["self_attn.qkv_proj.weight": "attn_qkv.weight", "mlp.gate_up_proj.weight": "ffn_up.weight"],
    readHuggingFace: { file, c in
      if let partial = try file.optionalNumber("partial_rotary_factor"), partial != 1 {
        throw file.fail("partial_rotary_factor", "is \(partial); partial rotary embeddings (Phi-4-mini) are not supported")
      }
      if let window = try file.optionalInt("sliding_window") {
        // transformers masks every layer's keys to the window; llama.cpp ignores Phi-3's window.
        guard window > 0 else { throw file.fail("sliding_window", "must be positive") }
        c.slidingWindow = window
        c.slidingLayers = Array(repeating: true, count: c.layerCount)
      }
    },
    readGGUF: { keys, c in
      // llama.cpp's converter writes no scaling type for Phi-3: the original context, the
      // attention factor and the rope_factors_* tensors (read with the weights) say it all.
      if c.ropeScaling == nil, let original = try keys.int("rope.scaling.original_context_length") {
        guard original >= 2 else { throw ModelError.invalidConfiguration("\(keys.key("rope.scaling.original_context_length")) must be at least 2") }
        c.ropeScaling = RopeScaling(
          kind: .longrope, factor: 1, originalContextLength: original,
          attentionFactor: try keys.number("rope.scaling.attn_factor") ?? 1)
      }
      // The converter writes 0 for "none" (Phi-4). transformers' window is kept on every layer,
      // so that a GGUF file and its Hugging Face checkpoint agree.
      if let window = try keys.int("attention.sliding_window"), window > 0 {
        c.slidingWindow = window
        c.slidingLayers = Array(repeating: true, count: c.layerCount)
      }
    })
}
