import Foundation

extension ModelFamily {
  /// Gemma 3 (text): Gemma-2's block without soft-caps, plus q/k norms, five sliding layers to
  /// each global one, and sliding layers with a RoPE base of their own and no RoPE scaling.
  public static let gemma3 = ModelFamily(rawValue: "gemma3")
}

extension FamilyDescription {
  static let gemma3 = FamilyDescription(
    family: .gemma3, ggufArchitectures: ["gemma3"],
    // The multimodal checkpoints' text model is read; their vision tower is left unread.
    huggingFaceArchitectures: ["Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"],
    huggingFaceModelTypes: ["gemma3_text", "gemma3"], textConfigKey: "text_config",
    // Gemma3TextConfig's defaults (transformers 4.50 to 5), which hub configs leave out.
    huggingFaceDefaults: [
      "vocab_size": 262_208, "hidden_size": 2304, "intermediate_size": 9216, "num_hidden_layers": 26,
      "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "max_position_embeddings": 131_072,
      "rms_norm_eps": 1e-6, "rope_theta": 1_000_000, "query_pre_attn_scalar": 256, "sliding_window": 4096,
    ],
    tiedByDefault: true,
    activations: [("gelu_pytorch_tanh", .geluTanh), ("gelu", .geluTanh)],
    blockTensorNames: gemmaBlockNames,
    defaults: { c in
      c.activation = .geluTanh
      c.sandwichNorms = true
      c.queryKeyNorm = true
      c.embeddingScale = Float(Double(c.modelDimension).squareRoot())
      c.slidingLayers = DecoderConfiguration.slidingLayers(pattern: 6, count: c.layerCount)
      c.localRopeBase = 10_000
    },
    readHuggingFace: { file, c in
      c.normWeightOffset = 1
      c.attentionScale = Float(1 / (try file.optionalNumber("query_pre_attn_scalar") ?? 256).squareRoot())
      if try file.optionalNumber("attn_logit_softcapping") != nil {
        throw file.fail("attn_logit_softcapping", "is set; Gemma 3 has no attention soft-cap")
      }
      c.finalSoftcap = try file.optionalNumber("final_logit_softcapping").map(Float.init)
      if try file.bool("use_bidirectional_attention") == true {
        throw file.fail("use_bidirectional_attention", "is true; only causal (generative) Gemma 3 models run here")
      }
      c.slidingWindow = try file.optionalInt("sliding_window")
      // transformers 4.5x: an integer pattern (every n-th layer global); 5: layer_types.
      if let types = try file.layerTypes(count: c.layerCount) {
        c.slidingLayers = types
      } else if let pattern = try file.optionalInt("sliding_window_pattern") {
        guard pattern >= 1 else { throw file.fail("sliding_window_pattern", "must be at least 1") }
        c.slidingLayers = DecoderConfiguration.slidingLayers(pattern: pattern, count: c.layerCount)
      }
      if c.slidingWindow == nil { c.slidingLayers = [] }
      let local = file.ropeParameters(layerType: "sliding_attention")
      if let local, let type = local["rope_type"] as? String, type != "default" {
        throw file.fail("rope_parameters", "scales the sliding layers' RoPE ('\(type)'); only the global layers' may be scaled")
      }
      c.localRopeBase =
        try file.optionalNumber("rope_local_base_freq") ?? file.optionalNumber("rope_theta", in: local) ?? 10_000
    },
    readGGUF: { keys, c in
      c.finalSoftcap = try keys.number("final_logit_softcapping").map(Float.init)
      if let window = try keys.int("attention.sliding_window"), window > 0 {
        c.slidingWindow = window
        // As llama.cpp: a per-layer list or a period in sliding_window_pattern, else 6.
        if let layers = try keys.boolArray("attention.sliding_window_pattern") {
          c.slidingLayers = layers
        } else if let pattern = try keys.int("attention.sliding_window_pattern") {
          c.slidingLayers = DecoderConfiguration.slidingLayers(pattern: pattern, count: c.layerCount)
        }
      } else {
        c.slidingLayers = []
      }
      c.localRopeBase = try keys.number("rope.freq_base_swa") ?? 10_000
      // GGUF has no query_pre_attn_scalar: llama.cpp scales by 1/√head_dim except for the 27B
      // model (62 layers), whose scalar is the embedding over the heads. So does this reader.
      if c.layerCount == 62 { c.attentionScale = Float(1 / (Double(c.modelDimension) / Double(c.headCount)).squareRoot()) }
    })
}
