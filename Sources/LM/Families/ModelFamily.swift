/// A decoder family's name, as configurations carry it and llama.cpp's control vectors expect it
/// (`llama`, `qwen2`, …). Each family defines its value beside its ``FamilyDescription``, in
/// its own file of `Families/`.
public struct ModelFamily: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
  public let rawValue: String
  public init(rawValue: String) { self.rawValue = rawValue }
  public var description: String { rawValue }

  /// The architecture llama.cpp gives the family's GGUF files (a control vector's `model_hint`):
  /// Mixtral's are `llama`.
  public var llamaCppArchitecture: String { FamilyRegistry.description(of: self).ggufArchitectures.first ?? "llama" }

  /// Every family the engine runs, by name.
  public static var supported: [ModelFamily] { FamilyRegistry.all.map(\.family) }

  /// The supported families' names as help texts list them: "a, b or c".
  public static var supportedList: String {
    let names = supported.map(\.rawValue)
    guard names.count > 1 else { return names.first ?? "" }
    return names.dropLast().joined(separator: ", ") + " or " + names.last!
  }
}

/// Everything that tells one decoder family apart from the shared Llama-shaped block: the names
/// its files give it, its defaults, how its own configuration fields are read, and its tensors'
/// names. The forward and backward passes read only the switches of ``DecoderConfiguration``
/// that these functions set, so adding a family is one description (and its tests).
struct FamilyDescription: Sendable {
  let family: ModelFamily
  /// GGUF `general.architecture` values.
  var ggufArchitectures: [String]
  /// Hugging Face `architectures[0]` values, then `model_type` values.
  var huggingFaceArchitectures: [String]
  var huggingFaceModelTypes: [String]
  /// Where config.json nests the text model's fields, when it does (multimodal checkpoints).
  var textConfigKey: String?
  /// Numbers the family's transformers configuration assumes when config.json leaves them out
  /// (hub configs of Gemma 3 carry only what differs from these).
  var huggingFaceDefaults: [String: Double] = [:]
  /// Whether the output head is the embedding when config.json does not say.
  var tiedByDefault = false
  /// The RoPE pairing of the family's GGUF files: llama.cpp's converter permutes Q and K of
  /// `llama` weights to adjacent pairs and keeps NEOX order for the others.
  var ggufRopeLayout: RopeLayout = .halfSplit
  /// `hidden_act` / `hidden_activation` values the family runs, each with its kernel; the first
  /// is the default.
  var activations: [(name: String, activation: GateActivation)] = [("silu", .silu)]
  /// Whether config.json may switch on Q/K/V biases (`attention_bias`).
  var allowsAttentionBias = false
  /// Block tensors whose Hugging Face names (after `layers.N.`) map to other GGUF names than
  /// ``FamilyRegistry/sharedBlockNames``'s.
  var blockTensorNames: [String: String] = [:]
  /// Where a block's experts sit in Hugging Face names (`mlp.experts.`, then the expert's index),
  /// and each expert tensor's GGUF stem: `…experts.3.gate_proj.weight` → `blk.N.ffn_gate.3.weight`.
  var expertTensorNames: (prefix: String, names: [String: String])?
  /// The switches every checkpoint of the family has, applied before either reader's fields.
  var defaults: @Sendable (inout DecoderConfiguration) -> Void = { _ in }
  /// Reads the family's own config.json fields (after the shared ones).
  var readHuggingFace: @Sendable (HuggingFaceConfigFile, inout DecoderConfiguration) throws -> Void = { _, _ in }
  /// Reads the family's own GGUF keys (after the shared ones).
  var readGGUF: @Sendable (GGUFKeys, inout DecoderConfiguration) throws -> Void = { _, _ in }
}

/// The families `DecoderModel` runs, keyed by the architecture names of both file formats.
enum FamilyRegistry {
  // `all`, every description that a file in `Families/` declares, is written at build time by the
  // FamilyList plugin (Plugins/FamilyList): adding a family adds no line here.

  static func description(of family: ModelFamily) -> FamilyDescription {
    guard let found = all.first(where: { $0.family == family }) else {
      preconditionFailure("family \(family) has no FamilyDescription in Sources/LM/Families")
    }
    return found
  }

  static func gguf(_ architecture: String) -> FamilyDescription? {
    all.first { $0.ggufArchitectures.contains(architecture) }
  }

  static var ggufArchitectures: [String] { all.flatMap(\.ggufArchitectures).sorted() }

  /// The family of config.json's `architectures[0]`, else of its `model_type`.
  static func huggingFace(architecture: String?, modelType: String?) -> FamilyDescription? {
    if let architecture, let found = all.first(where: { $0.huggingFaceArchitectures.contains(architecture) }) { return found }
    guard let modelType else { return nil }
    return all.first { $0.huggingFaceModelTypes.contains(modelType) }
  }

  static var huggingFaceArchitectures: [String] { all.flatMap(\.huggingFaceArchitectures).sorted() }

  /// Hugging Face names of a block's tensors (after `layers.N.`), each with its GGUF name, for
  /// every family unless its description says otherwise.
  static let sharedBlockNames = [
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight", "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_proj.bias": "attn_q.bias", "self_attn.k_proj.bias": "attn_k.bias", "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.q_norm.weight": "attn_q_norm.weight", "self_attn.k_norm.weight": "attn_k_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
  ]
}

extension FamilyDescription {
  /// The family's block tensor names, Hugging Face → GGUF.
  var blockNames: [String: String] { FamilyRegistry.sharedBlockNames.merging(blockTensorNames) { $1 } }

  /// The kernel of config.json's activation name, or an error naming what the family runs.
  func activation(named name: String?, _ file: HuggingFaceConfigFile) throws -> GateActivation {
    guard let name else { return activations[0].activation }
    guard let found = activations.first(where: { $0.name == name }) else {
      throw file.fail(
        "hidden_act", "is '\(name)'; \(family) runs \(activations.map(\.name).joined(separator: " or "))")
    }
    return found.activation
  }
}
