import Foundation

/// RoPE frequency scaling of long-context checkpoints.
public struct RopeScaling: Codable, Equatable, Sendable {
  public enum Kind: String, Codable, Sendable {
    /// Every frequency divided by `factor`.
    case linear
    /// Llama 3.1: low frequencies divided by `factor`, high ones kept, a smooth ramp between.
    case llama3
    /// LongRoPE (Phi-3): each frequency divided by a factor of its own, `shortFactors` for a
    /// sequence within `originalContextLength` and `longFactors` beyond it, and cos and sin
    /// times `attentionFactor`.
    case longrope
  }
  public var kind: Kind
  public var factor: Double
  public var lowFrequencyFactor: Double = 1
  public var highFrequencyFactor: Double = 4
  public var originalContextLength: Int = 8192
  /// LongRoPE's factors from config.json; a GGUF file carries them as tensors instead
  /// (`rope_factors_short.weight`, `rope_factors_long.weight`).
  public var shortFactors: [Double]?
  public var longFactors: [Double]?
  public var attentionFactor: Double = 1
}

/// A `config.json` read as JSON, with errors that name the file and the field.
struct HuggingFaceConfigFile {
  let path: String
  let json: [String: Any]
  /// Numbers the family assumes where the file is silent.
  var defaults: [String: Double] = [:]

  init(path: String, json: [String: Any], defaults: [String: Double] = [:]) {
    self.path = path
    self.json = json
    self.defaults = defaults
  }

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
    guard let v = (object ?? json)[field], !(v is NSNull) else { return object == nil ? defaults[field] : nil }
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

  /// The object under `key` (a multimodal checkpoint's `text_config`), read with the same
  /// defaults, or this file itself when there is no such key.
  func nested(_ key: String?) throws -> HuggingFaceConfigFile {
    guard let key, let v = json[key], !(v is NSNull) else { return self }
    guard let object = v as? [String: Any] else { throw fail(key, "is not an object") }
    return HuggingFaceConfigFile(path: path, json: object, defaults: defaults)
  }

  /// `layer_types` as sliding (true) or full (false) per layer, checked against the layer count.
  func layerTypes(count: Int) throws -> [Bool]? {
    guard let v = json["layer_types"], !(v is NSNull) else { return nil }
    guard let types = v as? [String], types.allSatisfy({ $0 == "sliding_attention" || $0 == "full_attention" }) else {
      throw fail("layer_types", "must list 'sliding_attention' or 'full_attention' per layer")
    }
    guard types.count == count else { throw fail("layer_types", "names \(types.count) layers, num_hidden_layers is \(count)") }
    return types.map { $0 == "sliding_attention" }
  }

  /// transformers 5's `rope_parameters`, or its entry for one kind of layer where it has one per
  /// kind (`full_attention`, `sliding_attention`).
  func ropeParameters(layerType: String? = nil) -> [String: Any]? {
    guard let rope = json["rope_parameters"] as? [String: Any] else { return nil }
    if let layerType, let perType = rope[layerType] as? [String: Any] { return perType }
    return rope["full_attention"] == nil && rope["sliding_attention"] == nil ? rope : nil
  }
}

extension DecoderConfiguration {
  /// Reads a Hugging Face `config.json` (transformers 4's `rope_theta`/`rope_scaling` or 5's
  /// `rope_parameters`). Returns whether the output head is tied to the embedding.
  static func read(huggingFaceConfig path: String, name: String) throws -> (DecoderConfiguration, tied: Bool) {
    let top = try HuggingFaceConfigFile(path: path)
    let architectures = (top.json["architectures"] as? [String]) ?? []
    let modelType = try top.string("model_type")
    guard let declared = architectures.first ?? modelType else {
      throw top.fail("architectures", "is missing (and so is model_type)")
    }
    guard let description = FamilyRegistry.huggingFace(architecture: architectures.first, modelType: modelType) else {
      throw ModelError.unsupportedArchitecture(declared, known: FamilyRegistry.huggingFaceArchitectures)
    }
    var file = try top.nested(description.textConfigKey)
    file.defaults = description.huggingFaceDefaults
    let d = try file.int("hidden_size")
    let heads = try file.int("num_attention_heads")
    let rope = file.ropeParameters(layerType: "full_attention")
    let base = try file.optionalNumber("rope_theta", in: rope) ?? file.optionalNumber("rope_theta") ?? 10_000
    var c = DecoderConfiguration(
      architecture: declared, family: description.family, name: name, layerCount: try file.int("num_hidden_layers"),
      modelDimension: d, feedForwardDimension: try file.int("intermediate_size"), headCount: heads,
      keyValueHeadCount: try file.optionalInt("num_key_value_heads") ?? heads,
      headDimension: try file.optionalInt("head_dim") ?? (heads > 0 ? d / heads : 0),
      contextLength: try file.optionalInt("max_position_embeddings") ?? 2048, ropeBase: base, ropeLayout: .halfSplit,
      rmsNormEpsilon: Float(try file.optionalNumber("rms_norm_eps") ?? 1e-6), vocabularySize: try file.int("vocab_size"))
    c.ropeScaling = try Self.ropeScaling(file, (file.json["rope_scaling"] as? [String: Any]) ?? rope, configuration: c)
    c.activation = try description.activation(named: try file.string("hidden_activation") ?? file.string("hidden_act"), file)
    if try file.bool("mlp_bias") == true { throw file.fail("mlp_bias", "is true; MLP biases are not supported") }
    if !description.allowsAttentionBias, try file.bool("attention_bias") == true {
      throw file.fail("attention_bias", "is true; only Qwen2 checkpoints have attention biases here")
    }
    try description.readHuggingFace(file, &c)
    try c.validate()
    return (c, try file.bool("tie_word_embeddings") ?? top.bool("tie_word_embeddings") ?? description.tiedByDefault)
  }

  private static func ropeScaling(
    _ file: HuggingFaceConfigFile, _ object: [String: Any]?, configuration c: DecoderConfiguration
  ) throws -> RopeScaling? {
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
    case "longrope", "su":
      // As transformers' _compute_longrope_parameters: the original context from the scaling
      // object or the top level, `factor` else the context ratio, and the attention factor
      // √(1 + ln factor / ln original) unless given.
      func factors(_ key: String) throws -> [Double] {
        guard let list = object[key] as? [Any], !list.isEmpty else { throw file.fail("rope_scaling", "of type longrope needs \(key)") }
        return try list.map { v in
          switch v {
          case let i as Int: Double(i)
          case let d as Double: d
          default: throw file.fail("rope_scaling", "has a \(key) entry that is not a number")
          }
        }
      }
      guard
        let original = try file.optionalNumber("original_max_position_embeddings", in: object)
          ?? file.optionalNumber("original_max_position_embeddings"),
        original >= 2, original <= Double(1 << 24)
      else { throw file.fail("original_max_position_embeddings", "is missing or out of range; longrope needs it") }
      let factor = try file.optionalNumber("factor", in: object) ?? Double(c.contextLength) / original
      let attention =
        try file.optionalNumber("attention_factor", in: object) ?? (factor <= 1 ? 1 : (1 + log(factor) / log(original)).squareRoot())
      return RopeScaling(
        kind: .longrope, factor: factor, originalContextLength: Int(original), shortFactors: try factors("short_factor"),
        longFactors: try factors("long_factor"), attentionFactor: attention)
    default:
      throw file.fail("rope_scaling", "has rope_type '\(type)'; supported: default, linear, llama3, longrope")
    }
  }
}
