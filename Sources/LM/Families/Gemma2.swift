import Foundation

extension ModelFamily {
  /// Gemma-2: scaled embeddings, (1 + w) norms around both sublayers, GELU-tanh, soft-capping,
  /// sliding-window attention on even layers.
  public static let gemma2 = ModelFamily(rawValue: "gemma2")
}

extension FamilyDescription {
  static let gemma2 = FamilyDescription(
    family: .gemma2, ggufArchitectures: ["gemma2"], huggingFaceArchitectures: ["Gemma2ForCausalLM"],
    huggingFaceModelTypes: ["gemma2"], tiedByDefault: true,
    activations: [("gelu_pytorch_tanh", .geluTanh), ("gelu", .geluTanh)],
    blockTensorNames: gemmaBlockNames,
    defaults: { c in
      c.activation = .geluTanh
      c.sandwichNorms = true
      c.embeddingScale = Float(Double(c.modelDimension).squareRoot())
      c.slidingLayers = DecoderConfiguration.slidingLayers(pattern: 2, count: c.layerCount)
    },
    readHuggingFace: { file, c in
      c.normWeightOffset = 1
      if let scalar = try file.optionalNumber("query_pre_attn_scalar") { c.attentionScale = Float(1 / scalar.squareRoot()) }
      c.attentionSoftcap = try file.optionalNumber("attn_logit_softcapping").map(Float.init)
      c.finalSoftcap = try file.optionalNumber("final_logit_softcapping").map(Float.init)
      c.slidingWindow = try file.optionalInt("sliding_window")
      if let types = try file.layerTypes(count: c.layerCount), types != c.slidingLayers {
        throw file.fail("layer_types", "is not Gemma-2's alternating pattern")
      }
    },
    readGGUF: { keys, c in
      c.attentionSoftcap = try keys.number("attn_logit_softcapping").map(Float.init)
      c.finalSoftcap = try keys.number("final_logit_softcapping").map(Float.init)
      c.slidingWindow = try keys.int("attention.sliding_window")
      // llama.cpp scales Gemma-2 2B/9B queries by 1/√key_length (their query_pre_attn_scalar).
    })

  /// Gemma's norms around both sublayers: transformers' post_attention_layernorm is the norm of
  /// the attention output, and pre_feedforward_layernorm the feed-forward input's.
  static let gemmaBlockNames = [
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight", "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
  ]
}
