import Foundation

/// A Hugging Face model directory: `config.json`, `model.safetensors` or the shards listed by
/// `model.safetensors.index.json`, and optionally `generation_config.json`. Tensors are
/// memory-mapped and served under GGUF names, so that one weight loader reads both formats.
final class HuggingFaceCheckpoint: TensorSource, Sendable {
  let directory: String
  let configuration: DecoderConfiguration
  /// Whether the output head is the embedding (`tie_word_embeddings`).
  let tied: Bool
  /// End-of-sequence ids from `generation_config.json`, then `config.json`.
  let endOfSequenceIds: [Int]
  /// The files that hold the model, for its fingerprint.
  let files: [String]
  private let shards: [SafetensorsFile]
  private let located: [String: (shard: Int, entry: SafetensorsFile.Entry)]
  private let huggingFaceNames: [String: String]

  var sourcePath: String { directory }

  static func isCheckpoint(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
  }

  init(directory: String) throws {
    self.directory = directory
    let configPath = directory + "/config.json"
    guard FileManager.default.fileExists(atPath: configPath) else {
      throw ModelError.badCheckpoint(path: directory, reason: "has no config.json (not a Hugging Face model directory)")
    }
    let name = URL(fileURLWithPath: directory).standardized.lastPathComponent
    (configuration, tied) = try DecoderConfiguration.read(huggingFaceConfig: configPath, name: name)
    let shardNames = try Self.shardNames(directory)
    shards = try shardNames.map { try SafetensorsFile(path: directory + "/" + $0) }
    files = [configPath] + shardNames.map { directory + "/" + $0 }
    var located: [String: (shard: Int, entry: SafetensorsFile.Entry)] = [:]
    var huggingFaceNames: [String: String] = [:]
    for (i, shard) in shards.enumerated() {
      for (hfName, entry) in shard.entries {
        guard let name = Self.ggufName(hfName, family: configuration.family) else { continue }
        if tied && name == "output.weight" { continue }
        guard ["F32", "F16", "BF16"].contains(entry.dtype) else {
          throw ModelError.unsupportedTensorType(name: hfName, type: entry.dtype + " (only F32, F16 and BF16 are read)")
        }
        guard located[name] == nil else {
          throw ModelError.badCheckpoint(path: shard.path, reason: "tensor '\(hfName)' appears in two shards")
        }
        located[name] = (i, entry)
        huggingFaceNames[name] = hfName
      }
    }
    self.located = located
    self.huggingFaceNames = huggingFaceNames
    endOfSequenceIds = try Self.endOfSequenceIds(directory)
  }

  /// `model.safetensors.index.json`'s shards (each must exist), else `model.safetensors`.
  private static func shardNames(_ directory: String) throws -> [String] {
    let indexPath = directory + "/model.safetensors.index.json"
    let fm = FileManager.default
    guard fm.fileExists(atPath: indexPath) else {
      guard fm.fileExists(atPath: directory + "/model.safetensors") else {
        throw ModelError.badCheckpoint(path: directory, reason: "has neither model.safetensors nor model.safetensors.index.json")
      }
      return ["model.safetensors"]
    }
    guard let data = fm.contents(atPath: indexPath), let object = try? ExactJSON.parse([UInt8](data), maxDepth: 16).foundation,
      let map = (object as? [String: Any])?["weight_map"] as? [String: String]
    else { throw ModelError.badCheckpoint(path: indexPath, reason: "field 'weight_map' is missing or not an object of strings") }
    let names = Set(map.values).sorted()
    for shard in names {
      guard !shard.contains("/"), fm.fileExists(atPath: directory + "/" + shard) else {
        throw ModelError.badCheckpoint(path: indexPath, reason: "names shard '\(shard)', which the directory lacks")
      }
    }
    return names
  }

  /// `eos_token_id` of generation_config.json, else of config.json: one id or a list. A file
  /// that is there but unreadable, or an id of another type, is an error rather than a silent
  /// fallback to the other file or to the tokenizer's own end of sequence.
  private static func endOfSequenceIds(_ directory: String) throws -> [Int] {
    for file in ["generation_config.json", "config.json"] {
      let path = directory + "/" + file
      guard let data = FileManager.default.contents(atPath: path) else { continue }
      guard let json = (try? ExactJSON.parse([UInt8](data), maxDepth: 64))?.foundation as? [String: Any] else {
        throw ModelError.badCheckpoint(path: path, reason: "not a JSON object")
      }
      guard let eos = json["eos_token_id"], !(eos is NSNull) else { continue }
      if let id = eos as? Int, !(eos is Bool) { return [id] }
      if let ids = eos as? [Any], !ids.isEmpty, ids.allSatisfy({ $0 is Int && !($0 is Bool) }) { return ids.map { $0 as! Int } }
      throw ModelError.badCheckpoint(path: path, reason: "eos_token_id is \(eos), neither a token id nor a list of them")
    }
    return []
  }

  /// Where the text model's tensors sit: `model.` in causal-LM checkpoints; multimodal ones
  /// (Gemma 3) nest it as `model.language_model.` (transformers ≥ 4.52) or `language_model.model.`.
  private static let modelPrefixes = ["model.", "model.language_model.", "language_model.model."]
  private static let headNames = ["lm_head.weight", "language_model.lm_head.weight"]
  private static let globalNames = ["embed_tokens.weight": "token_embd.weight", "norm.weight": "output_norm.weight"]

  /// The GGUF name of a Hugging Face tensor, or nil for tensors the decoder does not read.
  static func ggufName(_ name: String, family: ModelFamily) -> String? {
    if headNames.contains(name) { return "output.weight" }
    for prefix in modelPrefixes where name.hasPrefix(prefix) {
      let rest = String(name.dropFirst(prefix.count))
      if let global = globalNames[rest] { return global }
      let parts = rest.split(separator: ".", maxSplits: 2).map(String.init)
      guard parts.count == 3, parts[0] == "layers", let layer = Int(parts[1]), layer >= 0 else { continue }
      let description = FamilyRegistry.description(of: family)
      if let suffix = description.blockNames[parts[2]] { return "blk.\(layer).\(suffix)" }
      if let experts = description.expertTensorNames, parts[2].hasPrefix(experts.prefix) {
        let tail = parts[2].dropFirst(experts.prefix.count).split(separator: ".", maxSplits: 1).map(String.init)
        if tail.count == 2, let expert = Int(tail[0]), expert >= 0, let stem = experts.names[tail[1]] {
          return "blk.\(layer).\(stem).\(expert).weight"
        }
      }
    }
    return nil
  }

  /// The Hugging Face name of a GGUF tensor name (in a causal-LM checkpoint), for errors.
  static func huggingFaceName(_ name: String, family: ModelFamily) -> String? {
    if name == "output.weight" { return headNames[0] }
    if let global = globalNames.first(where: { $0.value == name }) { return "model." + global.key }
    let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
    guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
    let description = FamilyRegistry.description(of: family)
    if let suffix = description.blockNames.first(where: { $0.value == parts[2] })?.key { return "model.layers.\(layer).\(suffix)" }
    let expert = parts[2].split(separator: ".").map(String.init)
    guard let experts = description.expertTensorNames, expert.count == 3, let index = Int(expert[1]),
      let hf = experts.names.first(where: { $0.value == expert[0] })?.key
    else { return nil }
    return "model.layers.\(layer).\(experts.prefix)\(index).\(hf)"
  }

  func hasTensor(_ name: String) -> Bool { located[name] != nil }

  func tensor(_ name: String) throws -> GGUFTensorInfo {
    guard let (_, entry) = located[name] else {
      let hfName = Self.huggingFaceName(name, family: configuration.family) ?? name
      throw ModelError.badCheckpoint(path: directory, reason: "lacks tensor '\(hfName)'")
    }
    let type: GGMLType = entry.dtype == "F32" ? .f32 : entry.dtype == "F16" ? .f16 : .bf16
    return GGUFTensorInfo(name: name, dimensions: entry.shape.reversed(), type: type, offset: entry.range.lowerBound)
  }

  func tensorData(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
    let (shard, entry) = located[info.name]!
    return shards[shard].data(entry)
  }

  func dequantize(_ info: GGUFTensorInfo) -> [Float] {
    let data = tensorData(info)
    return [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, initialized in
      Dequantize.decode(info.type, from: data.baseAddress!, count: info.elementCount, into: buffer.baseAddress!)
      initialized = info.elementCount
    }
  }
}
