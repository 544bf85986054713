import Foundation

extension BPETokenizer {
  /// A byte-level BPE `tokenizer.json` (Hugging Face `tokenizers`) whose pre-tokenizer is the one
  /// ``PreTokenizer`` implements: `Digits(individual_digits)` then `ByteLevel` with the GPT-2
  /// pattern (SmolLM's). Any other construct is an error naming it, never a silent fallback.
  ///
  /// - Parameter endOfSequence: the id generation stops on (from `generation_config.json`);
  ///   when nil, `tokenizer_config.json`'s `eos_token` beside the file.
  public convenience init(tokenizerJSON path: String, endOfSequence: Int?) throws {
    func fail(_ why: String) -> ModelError { .badCheckpoint(path: path, reason: why) }
    guard let data = FileManager.default.contents(atPath: path),
      let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    else { throw fail("cannot be read as a JSON object") }
    guard let model = json["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int] else {
      throw fail("field 'model.vocab' is missing")
    }
    guard (model["type"] as? String) == "BPE" else {
      throw fail("model type '\(model["type"] ?? "none")' is not supported (byte-level BPE only)")
    }
    try Self.requireSupportedPreTokenizer(json["pre_tokenizer"], fail: fail)
    var byId: [Int: String] = [:]
    var types: [Int: Int] = [:]
    for (token, id) in vocab { byId[id] = token }
    for case let added as [String: Any] in (json["added_tokens"] as? [Any]) ?? [] {
      guard let id = added["id"] as? Int, let content = added["content"] as? String else { throw fail("an added token lacks id or content") }
      byId[id] = content
      types[id] = (added["special"] as? Bool) == true ? 3 : 4
    }
    let count = (byId.keys.max() ?? -1) + 1
    guard count > 0, byId.count == count, byId.keys.allSatisfy({ $0 >= 0 }) else { throw fail("token ids are not 0..<\(byId.count)") }
    let tokens = (0..<count).map { byId[$0]! }
    let merges = try ((model["merges"] as? [Any]) ?? []).map { entry -> String in
      if let s = entry as? String { return s }
      if let pair = entry as? [String], pair.count == 2 { return pair[0] + " " + pair[1] }
      throw fail("a merges entry is neither \"a b\" nor [\"a\", \"b\"]")
    }
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let config = Self.tokenizerConfig(directory)
    let eosName = (config["eos_token"] as? String) ?? ((config["eos_token"] as? [String: Any])?["content"] as? String)
    let named = eosName.flatMap { name in byId.first(where: { $0.value == name })?.key }
    guard let eos = endOfSequence ?? named else {
      throw fail("no end-of-sequence token (generation_config.json eos_token_id or tokenizer_config.json eos_token)")
    }
    try self.init(
      tokens: tokens, merges: merges, tokenTypes: (0..<count).map { types[$0] ?? 1 }, endOfSequence: eos, beginOfSequence: nil)
  }

  static func tokenizerConfig(_ directory: String) -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: directory + "/tokenizer_config.json") else { return [:] }
    return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
  }

  private static func requireSupportedPreTokenizer(_ value: Any?, fail: (String) -> ModelError) throws {
    guard let object = value as? [String: Any], (object["type"] as? String) == "Sequence",
      let steps = object["pretokenizers"] as? [[String: Any]], steps.count == 2,
      steps[0]["type"] as? String == "Digits", steps[0]["individual_digits"] as? Bool == true,
      steps[1]["type"] as? String == "ByteLevel", steps[1]["use_regex"] as? Bool ?? true,
      !(steps[1]["add_prefix_space"] as? Bool ?? false)
    else {
      let type = ((value as? [String: Any])?["type"] as? String) ?? "none"
      throw fail("pre_tokenizer '\(type)' is not supported yet (only SmolLM's Digits + ByteLevel sequence)")
    }
  }
}
