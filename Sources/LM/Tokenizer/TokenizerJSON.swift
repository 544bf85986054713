import Foundation

extension BPETokenizer {
  /// A byte-level BPE `tokenizer.json` (Hugging Face `tokenizers`) whose pre-tokenizer is one that
  /// ``PreTokenizer`` implements: `ByteLevel` with its GPT-2 regex; `Digits(individual_digits)`
  /// then that (SmolLM); or a `Split` by the Llama-3 or Qwen2 regex, `Isolated`, then `ByteLevel`
  /// without its regex. The normalizer may be absent or NFC. Any other construct is an error
  /// naming it, never a silent fallback.
  ///
  /// - Parameter endOfSequence: the id generation stops on (from `generation_config.json`);
  ///   when nil, `tokenizer_config.json`'s `eos_token` beside the file.
  public convenience init(tokenizerJSON path: String, endOfSequence: Int?) throws {
    func fail(_ why: String) -> ModelError { .badCheckpoint(path: path, reason: why) }
    guard let data = FileManager.default.contents(atPath: path),
      let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    else { throw fail("cannot be read as a JSON object") }
    guard let model = json["model"] as? [String: Any] else { throw fail("field 'model' is missing") }
    guard (model["type"] as? String ?? "BPE") == "BPE" else {
      throw fail("model type '\(model["type"] ?? "none")' is not supported (byte-level BPE only)")
    }
    guard let vocab = model["vocab"] as? [String: Int] else { throw fail("field 'model.vocab' is missing") }
    let preTokenizer = try Self.preTokenizer(json["pre_tokenizer"], fail: fail)
    let nfc: Bool
    switch json["normalizer"] {
    case nil, is NSNull: nfc = false
    case let n as [String: Any] where n["type"] as? String == "NFC": nfc = true
    case let n as [String: Any]: throw fail("normalizer '\(n["type"] ?? "?")' is not supported (only none or NFC)")
    default: throw fail("normalizer is not an object")
    }
    var byId: [Int: String] = [:]
    var types: [Int: Int] = [:]
    var strips: [Int: (left: Bool, right: Bool)] = [:]
    for (token, id) in vocab { byId[id] = token }
    for case let added as [String: Any] in (json["added_tokens"] as? [Any]) ?? [] {
      guard let id = added["id"] as? Int, let content = added["content"] as? String else {
        throw fail("an added token lacks id or content")
      }
      byId[id] = content
      types[id] = (added["special"] as? Bool) == true ? 3 : 4
      let left = added["lstrip"] as? Bool ?? false
      let right = added["rstrip"] as? Bool ?? false
      if left || right { strips[id] = (left, right) }
    }
    let count = (byId.keys.max() ?? -1) + 1
    guard count > 0, byId.count == count, byId.keys.allSatisfy({ $0 >= 0 }) else { throw fail("token ids are not 0..<\(byId.count)") }
    let tokens = (0..<count).map { byId[$0]! }
    let known = Set(vocab.keys.map { Array($0.utf8) })
    let merges = try ((model["merges"] as? [Any]) ?? []).enumerated().map { (n, entry) -> String in
      let pair: [String]
      if let s = entry as? String {
        pair = s.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
      } else if let p = entry as? [String] {
        pair = p
      } else {
        throw fail("merges entry \(n) is neither \"a b\" nor [\"a\", \"b\"]")
      }
      guard pair.count == 2 else { throw fail("merges entry \(n) \(pair) does not have two parts") }
      for part in pair + [pair[0] + pair[1]] where !known.contains(Array(part.utf8)) {
        throw fail("merges entry \(n) \(pair) names '\(part)', which is not in model.vocab")
      }
      return pair[0] + " " + pair[1]
    }
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
    let config = Self.tokenizerConfig(directory)
    let eosName = (config["eos_token"] as? String) ?? ((config["eos_token"] as? [String: Any])?["content"] as? String)
    let named = eosName.flatMap { name in byId.first(where: { $0.value == name })?.key }
    guard let eos = endOfSequence ?? named else {
      throw fail("no end-of-sequence token (generation_config.json eos_token_id or tokenizer_config.json eos_token)")
    }
    try self.init(
      tokens: tokens, merges: merges, tokenTypes: (0..<count).map { types[$0] ?? 1 }, endOfSequence: eos, beginOfSequence: nil,
      preTokenizer: preTokenizer, normalizesToNFC: nfc, ignoresMerges: model["ignore_merges"] as? Bool ?? false,
      strippingSpecials: strips)
  }

  static func tokenizerConfig(_ directory: String) -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: directory + "/tokenizer_config.json") else { return [:] }
    return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
  }

  private static func preTokenizer(_ value: Any?, fail: (String) -> ModelError) throws -> PreTokenizer {
    func type(_ step: [String: Any]) -> String { (step["type"] as? String) ?? "?" }
    func isByteLevel(_ step: [String: Any], regex: Bool) -> Bool {
      type(step) == "ByteLevel" && (step["use_regex"] as? Bool ?? true) == regex && !(step["add_prefix_space"] as? Bool ?? false)
    }
    guard let object = value as? [String: Any] else { throw fail("has no pre_tokenizer") }
    if isByteLevel(object, regex: true) { return .gpt2 }
    guard type(object) == "Sequence", let steps = object["pretokenizers"] as? [[String: Any]], steps.count == 2 else {
      throw fail("pre_tokenizer '\(type(object))' is not supported")
    }
    if type(steps[0]) == "Digits", steps[0]["individual_digits"] as? Bool == true, isByteLevel(steps[1], regex: true) {
      return .smollm
    }
    if type(steps[0]) == "Split", isByteLevel(steps[1], regex: false) {
      let pattern = (steps[0]["pattern"] as? [String: Any])?["Regex"] as? String ?? ""
      guard steps[0]["behavior"] as? String == "Isolated", steps[0]["invert"] as? Bool != true else {
        throw fail("pre_tokenizer Split must be Isolated and not inverted")
      }
      switch pattern {
      case PreTokenizer.llama3Pattern: return .llama3
      case PreTokenizer.qwen2Pattern: return .qwen2
      default: throw fail("pre_tokenizer Split regex \(pattern.debugDescription) is not one of the known patterns (Llama 3, Qwen2)")
      }
    }
    throw fail("pre_tokenizer sequence \(steps.map(type)) is not supported")
  }
}
