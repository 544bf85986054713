import Foundation

extension ModelFamily {
  /// Hugging Face `architectures` entries and `model_type` values, each with its family.
  static let huggingFaceNames: [String: ModelFamily] = [
    "LlamaForCausalLM": .llama, "MistralForCausalLM": .llama, "Qwen2ForCausalLM": .qwen2, "Qwen3ForCausalLM": .qwen3,
    "Gemma2ForCausalLM": .gemma2, "llama": .llama, "mistral": .llama, "qwen2": .qwen2, "qwen3": .qwen3, "gemma2": .gemma2,
  ]
}

/// RoPE frequency scaling of long-context checkpoints.
public struct RopeScaling: Codable, Equatable, Sendable {
  public enum Kind: String, Codable, Sendable {
    /// Every frequency divided by `factor`.
    case linear
    /// Llama 3.1: low frequencies divided by `factor`, high ones kept, a smooth ramp between.
    case llama3
  }
  public var kind: Kind
  public var factor: Double
  public var lowFrequencyFactor: Double = 1
  public var highFrequencyFactor: Double = 4
  public var originalContextLength: Int = 8192
}

/// A `config.json` read as JSON, with errors that name the file and the field.
struct HuggingFaceConfigFile {
  let path: String
  let json: [String: Any]

  init(path: String) throws {
    self.path = path
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ModelError.badCheckpoint(path: path, reason: "cannot be read")
    }
    let parsed: ExactJSON
    do { parsed = try ExactJSON.parse([UInt8](data), maxDepth: 64) } catch {
      throw ModelError.badCheckpoint(path: path, reason: "\(error)")
    }
    guard let json = parsed.foundation as? [String: Any] else {
      throw ModelError.badCheckpoint(path: path, reason: "is not a JSON object")
    }
    self.json = json
  }

  func fail(_ field: String, _ why: String) -> ModelError {
    ModelError.badCheckpoint(path: path, reason: "field '\(field)' \(why)")
  }

  func optionalNumber(_ field: String, in object: [String: Any]? = nil) throws -> Double? {
    guard let v = (object ?? json)[field], !(v is NSNull) else { return nil }
    let number: Double? =
      switch v {
      case let i as Int: Double(i)
      case let d as Double: d
      default: nil
      }
    guard let number, number.isFinite else { throw fail(field, "is not a number") }
    return number
  }

  func number(_ field: String) throws -> Double {
    guard let v = try optionalNumber(field) else { throw fail(field, "is missing") }
    return v
  }

  func optionalInt(_ field: String) throws -> Int? {
    guard let v = try optionalNumber(field) else { return nil }
    guard v == v.rounded(), abs(v) < 1e15 else { throw fail(field, "is not an integer") }
    return Int(v)
  }

  func int(_ field: String) throws -> Int {
    guard let v = try optionalInt(field) else { throw fail(field, "is missing") }
    return v
  }

  func bool(_ field: String) throws -> Bool? {
    guard let v = json[field], !(v is NSNull) else { return nil }
    guard let b = v as? Bool else { throw fail(field, "is not a boolean") }
    return b
  }

  func string(_ field: String) throws -> String? {
    guard let v = json[field], !(v is NSNull) else { return nil }
    guard let s = v as? String else { throw fail(field, "is not a string") }
    return s
  }
}

extension DecoderConfiguration {
  /// Reads a Hugging Face `config.json` (transformers 4's `rope_theta`/`rope_scaling` or 5's
  /// `rope_parameters`). Returns whether the output head is tied to the embedding.
  static func read(huggingFaceConfig path: String, name: String) throws -> (DecoderConfiguration, tied: Bool) {
    let file = try HuggingFaceConfigFile(path: path)
    let architectures = (file.json["architectures"] as? [String]) ?? []
    let modelType = try file.string("model_type")
    let declared = architectures.first ?? modelType
    guard let declared else { throw file.fail("architectures", "is missing (and so is model_type)") }
    guard let family = ModelFamily.huggingFaceNames[declared] ?? modelType.flatMap({ ModelFamily.huggingFaceNames[$0] }) else {
      throw ModelError.unsupportedArchitecture(
        declared, known: ModelFamily.huggingFaceNames.keys.filter { $0.contains("For") }.sorted())
    }
    let d = try file.int("hidden_size")
    let heads = try file.int("num_attention_heads")
    let rope = file.json["rope_parameters"] as? [String: Any]
    let base = try file.optionalNumber("rope_theta") ?? file.optionalNumber("rope_theta", in: rope) ?? 10_000
    var c = DecoderConfiguration(
      architecture: declared, family: family, name: name, layerCount: try file.int("num_hidden_layers"), modelDimension: d,
      feedForwardDimension: try file.int("intermediate_size"), headCount: heads,
      keyValueHeadCount: try file.optionalInt("num_key_value_heads") ?? heads,
      headDimension: try file.optionalInt("head_dim") ?? (heads > 0 ? d / heads : 0),
      contextLength: try file.optionalInt("max_position_embeddings") ?? 2048, ropeBase: base, ropeLayout: .halfSplit,
      rmsNormEpsilon: Float(try file.optionalNumber("rms_norm_eps") ?? 1e-6), vocabularySize: try file.int("vocab_size"))
    c.ropeScaling = try Self.ropeScaling(file, (file.json["rope_scaling"] as? [String: Any]) ?? rope)
    try c.readFamilyFields(file)
    try c.validate()
    return (c, try file.bool("tie_word_embeddings") ?? (family == .gemma2))
  }

  private static func ropeScaling(_ file: HuggingFaceConfigFile, _ object: [String: Any]?) throws -> RopeScaling? {
    guard let object else { return nil }
    let type = (object["rope_type"] as? String) ?? (object["type"] as? String) ?? "default"
    switch type {
    case "default": return nil
    case "linear":
      let factor = try file.optionalNumber("factor", in: object) ?? 1
      guard factor > 0 else { throw file.fail("rope_scaling", "needs a positive factor") }
      return RopeScaling(kind: .linear, factor: factor)
    case "llama3":
      guard let factor = try file.optionalNumber("factor", in: object),
        let original = try file.optionalNumber("original_max_position_embeddings", in: object)
      else { throw file.fail("rope_scaling", "of type llama3 needs factor and original_max_position_embeddings") }
      let low = try file.optionalNumber("low_freq_factor", in: object) ?? 1
      let high = try file.optionalNumber("high_freq_factor", in: object) ?? 4
      guard factor > 0, low > 0, high > low, original >= 1, original <= Double(1 << 24) else {
        throw file.fail("rope_scaling", "needs factor > 0, 0 < low_freq_factor < high_freq_factor and a positive original context")
      }
      return RopeScaling(
        kind: .llama3, factor: factor, lowFrequencyFactor: low, highFrequencyFactor: high, originalContextLength: Int(original))
    default:
      throw file.fail("rope_scaling", "has rope_type '\(type)'; supported: default, linear, llama3")
    }
  }

  private mutating func readFamilyFields(_ file: HuggingFaceConfigFile) throws {
    let activation = try file.string("hidden_activation") ?? file.string("hidden_act") ?? "silu"
    switch (family, activation) {
    case (.gemma2, "gelu_pytorch_tanh"), (.gemma2, "gelu"): break
    case (.gemma2, _): throw file.fail("hidden_activation", "is '\(activation)'; Gemma-2 runs gelu_pytorch_tanh")
    case (_, "silu"): break
    default: throw file.fail("hidden_act", "is '\(activation)'; only silu is supported for \(family.rawValue)")
    }
    if try file.bool("mlp_bias") == true { throw file.fail("mlp_bias", "is true; MLP biases are not supported") }
    if family != .qwen2, try file.bool("attention_bias") == true {
      throw file.fail("attention_bias", "is true; only Qwen2 checkpoints have attention biases here")
    }
    switch family {
    case .qwen2:
      if try file.bool("use_sliding_window") == true { throw file.fail("use_sliding_window", "is true; not supported") }
    case .gemma2:
      normWeightOffset = 1
      if let scalar = try file.optionalNumber("query_pre_attn_scalar") { attentionScale = Float(1 / scalar.squareRoot()) }
      attentionSoftcap = try file.optionalNumber("attn_logit_softcapping").map(Float.init)
      finalSoftcap = try file.optionalNumber("final_logit_softcapping").map(Float.init)
      slidingWindow = try file.optionalInt("sliding_window")
      if let types = file.json["layer_types"] as? [String] {
        let expected = (0..<layerCount).map { $0 % 2 == 0 ? "sliding_attention" : "full_attention" }
        guard types == expected else { throw file.fail("layer_types", "is not Gemma-2's alternating pattern") }
      }
    case .llama, .qwen3:
      break
    }
  }
}
