import Foundation
import ModelFiles

/// The tokenizer of a Hugging Face `tokenizer.json`: SentencePiece-style BPE
/// (``SentencePieceTokenizer``) when the file says so (`byte_fallback`, a `▁` normalizer or a
/// `Metaspace` pre-tokenizer), byte-level BPE (``BPETokenizer``) otherwise.
///
/// - Parameter endOfSequence: the id generation stops on (from `generation_config.json`);
///   when nil, `tokenizer_config.json`'s `eos_token` beside the file.
public func loadTokenizer(tokenizerJSON path: String, endOfSequence: Int?) throws -> any Tokenizer {
  try loadTokenizer(document: try TokenizerJSONDocument(path: path), endOfSequence: endOfSequence)
}

/// The tokenizer of `tokenizer.json` bytes already in memory (no tokenizer_config.json beside
/// them); `name` stands for the file in errors.
public func loadTokenizer(tokenizerJSONBytes bytes: [UInt8], name: String, endOfSequence: Int?) throws -> any Tokenizer {
  try loadTokenizer(document: try TokenizerJSONDocument(bytes: bytes, path: name, config: [:]), endOfSequence: endOfSequence)
}

private func loadTokenizer(document: TokenizerJSONDocument, endOfSequence: Int?) throws -> any Tokenizer {
  document.isSentencePiece
    ? try SentencePieceTokenizer(document: document, endOfSequence: endOfSequence)
    : try BPETokenizer(document: document, endOfSequence: endOfSequence)
}

/// The tokenizer of a GGUF file: `tokenizer.ggml.model` `llama` is SentencePiece, `gpt2` byte-level BPE.
public func loadTokenizer(gguf: GGUFFile) throws -> any Tokenizer {
  gguf.metadata["tokenizer.ggml.model"]?.string == "llama"
    ? try SentencePieceTokenizer(gguf: gguf) : try BPETokenizer(gguf: gguf)
}

/// What both BPE kinds read from a `tokenizer.json` and the `tokenizer_config.json` beside it:
/// the vocabulary, the merges (checked against it), the added tokens, and which tokens begin
/// and end a sequence.
struct TokenizerJSONDocument {
  /// An entry of `added_tokens`.
  struct AddedToken {
    var id: Int
    var content: String
    var special: Bool
    var stripsLeft: Bool
    var stripsRight: Bool
    /// Matched in the normalized text rather than the raw text.
    var normalized: Bool
  }

  let path: String
  /// The document in Foundation's form, except `model.vocab`.
  let root: [String: Any]
  let model: [String: Any]
  /// `model.vocab` as written, and keyed by each token's bytes.
  let vocabEntries: [(token: String, id: Int)]
  let vocab: [[UInt8]: Int]
  let addedTokens: [AddedToken]
  /// Each merge as its two parts, best first.
  let merges: [(String, String)]
  /// `tokenizer_config.json` beside the file, or empty.
  let config: [String: Any]

  func fail(_ why: String) -> ModelError { .badCheckpoint(path: path, reason: why) }

  init(path: String) throws {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ModelError.badCheckpoint(path: path, reason: "cannot be read")
    }
    try self.init(
      bytes: [UInt8](data), path: path, config: Self.tokenizerConfig(URL(fileURLWithPath: path).deletingLastPathComponent().path))
  }

  init(bytes: [UInt8], path: String, config: [String: Any]) throws {
    self.path = path
    self.config = config
    func fail(_ why: String) -> ModelError { .badCheckpoint(path: path, reason: why) }
    let exact: ExactJSON
    do { exact = try ExactJSON.parse(bytes) } catch { throw fail("\(error)") }
    guard let members = exact.members else { throw fail("is not a JSON object") }
    var root: [String: Any] = [:]
    var vocabMembers: [(key: String, value: ExactJSON)]?
    for (key, value) in members {
      guard key == "model", let modelMembers = value.members else {
        root[key] = value.foundation
        continue
      }
      var model: [String: Any] = [:]
      for (field, v) in modelMembers {
        if field == "vocab" { vocabMembers = v.members } else { model[field] = v.foundation }
      }
      root[key] = model
    }
    self.root = root
    guard let model = root["model"] as? [String: Any] else { throw fail("field 'model' is missing") }
    guard (model["type"] as? String ?? "BPE") == "BPE" else {
      throw fail("model type '\(model["type"] ?? "none")' is not supported (BPE only: byte-level or SentencePiece-style)")
    }
    self.model = model
    guard let vocabMembers else { throw fail("field 'model.vocab' is missing or not an object") }
    vocabEntries = try vocabMembers.map { (token, value) in
      guard case .integer(let id) = value, (0..<(1 << 24)).contains(id) else {
        throw fail("model.vocab entry '\(token)' is not an id in 0..<2^24")
      }
      return (token, id)
    }
    var vocab: [[UInt8]: Int] = [:]
    for (token, id) in vocabEntries { vocab[Array(token.utf8)] = id }
    self.vocab = vocab
    addedTokens = try ((root["added_tokens"] as? [Any]) ?? []).map { entry in
      guard let added = entry as? [String: Any], let id = added["id"] as? Int, let content = added["content"] as? String,
        (0..<(1 << 24)).contains(id)
      else { throw fail("an added token lacks an id in 0..<2^24 or content") }
      let special = added["special"] as? Bool ?? false
      return AddedToken(
        id: id, content: content, special: special, stripsLeft: added["lstrip"] as? Bool ?? false,
        stripsRight: added["rstrip"] as? Bool ?? false, normalized: added["normalized"] as? Bool ?? !special)
    }
    let known = Set(vocab.keys)
    merges = try ((model["merges"] as? [Any]) ?? []).enumerated().map { (n, entry) in
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
      return (pair[0], pair[1])
    }
  }

  package static func tokenizerConfig(_ directory: String) -> [String: Any] {
    guard let data = FileManager.default.contents(atPath: directory + "/tokenizer_config.json"),
      let json = try? ExactJSON.parse([UInt8](data))
    else { return [:] }
    return json.foundation as? [String: Any] ?? [:]
  }

  /// Every token by id, added tokens over the vocabulary; ids must run 0..<count with no gap.
  func tokensById() throws -> [String] {
    var byId: [Int: String] = [:]
    for (token, id) in vocabEntries { byId[id] = token }
    for added in addedTokens { byId[added.id] = added.content }
    let count = (byId.keys.max() ?? -1) + 1
    guard count > 0, byId.count == count else { throw fail("token ids are not 0..<\(byId.count)") }
    return (0..<count).map { byId[$0]! }
  }

  /// The id of a token given by its text, added tokens first.
  func id(of name: String) -> Int? {
    addedTokens.first(where: { $0.content.utf8.elementsEqual(name.utf8) })?.id ?? vocab[Array(name.utf8)]
  }

  /// A token named in tokenizer_config.json, as a string or as `{"content": …}`.
  func configToken(_ key: String) -> String? {
    (config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String)
  }

  func endOfSequence(given: Int?) throws -> Int {
    guard let eos = given ?? configToken("eos_token").flatMap(id(of:)) else {
      throw fail("no end-of-sequence token (generation_config.json eos_token_id or tokenizer_config.json eos_token)")
    }
    return eos
  }

  /// The BOS token, and whether a document starts with it: whether the post-processor's
  /// single-sequence template puts a special token before the text (Llama 3's, Llama 2's and
  /// Gemma's files do; Qwen's and SmolLM's have none). tokenizer_config.json's `bos_token` names
  /// the token when no template does; its `add_bos_token` is not consulted, as transformers 5
  /// does not (tests/fixtures: tokenizers/bos).
  func beginOfSequence() throws -> (id: Int?, adds: Bool) {
    if let single = Self.singleTemplate(root["post_processor"]), let first = single.first,
      let name = (first["SpecialToken"] as? [String: Any])?["id"] as? String
    {
      let ids = ((root["post_processor"] as? [String: Any]).flatMap(Self.templateSpecialIds) ?? [:])[name]
      guard let id = ids ?? self.id(of: name) else { throw fail("post_processor names '\(name)', which is no token") }
      return (id, true)
    }
    return (configToken("bos_token").flatMap(id(of:)), false)
  }

  /// The `single` template of a TemplateProcessing post-processor, found also inside a Sequence.
  private static func singleTemplate(_ value: Any?) -> [[String: Any]]? {
    guard let processor = value as? [String: Any] else { return nil }
    if processor["type"] as? String == "TemplateProcessing" { return processor["single"] as? [[String: Any]] }
    if processor["type"] as? String == "Sequence" {
      return (processor["processors"] as? [Any] ?? []).lazy.compactMap(singleTemplate).first
    }
    return nil
  }

  private static func templateSpecialIds(_ processor: [String: Any]) -> [String: Int]? {
    if processor["type"] as? String == "Sequence" {
      return (processor["processors"] as? [[String: Any]] ?? []).lazy.compactMap(templateSpecialIds).first
    }
    guard let specials = processor["special_tokens"] as? [String: Any] else { return nil }
    var out: [String: Int] = [:]
    for (name, value) in specials {
      if let ids = (value as? [String: Any])?["ids"] as? [Int], ids.count == 1 { out[name] = ids[0] }
    }
    return out
  }

  /// SentencePiece-style BPE: bytes fall back to `<0xNN>` pieces, or spaces become `▁`.
  var isSentencePiece: Bool {
    if model["byte_fallback"] as? Bool == true { return true }
    if (root["pre_tokenizer"] as? [String: Any])?["type"] as? String == "Metaspace" { return true }
    return Self.steps(root["normalizer"]).contains { ($0["content"] as? String) == "\u{2581}" }
  }

  /// A normalizer or pre-tokenizer as its list of steps (a Sequence's, or itself).
  static func steps(_ value: Any?) -> [[String: Any]] {
    guard let object = value as? [String: Any] else { return [] }
    if object["type"] as? String == "Sequence" {
      return (object["normalizers"] as? [[String: Any]]) ?? (object["pretokenizers"] as? [[String: Any]]) ?? []
    }
    return [object]
  }
}

extension BPETokenizer {
  /// A byte-level BPE `tokenizer.json` (Hugging Face `tokenizers`) whose pre-tokenizer is one that
  /// ``PreTokenizer`` implements: `ByteLevel` with its GPT-2 regex; `Digits(individual_digits)`
  /// then that (SmolLM); or a `Split` by the Llama-3 or Qwen2 regex, `Isolated`, then `ByteLevel`
  /// without its regex. The normalizer may be absent or NFC. Any other construct is an error
  /// naming it, never a silent fallback.
  public convenience init(tokenizerJSON path: String, endOfSequence: Int?) throws {
    try self.init(document: try TokenizerJSONDocument(path: path), endOfSequence: endOfSequence)
  }

  convenience init(document: TokenizerJSONDocument, endOfSequence: Int?) throws {
    let preTokenizer = try Self.preTokenizer(document.root["pre_tokenizer"], fail: document.fail)
    let nfc: Bool
    switch document.root["normalizer"] {
    case nil, is NSNull: nfc = false
    case let n as [String: Any] where n["type"] as? String == "NFC": nfc = true
    case let n as [String: Any]: throw document.fail("normalizer '\(n["type"] ?? "?")' is not supported (only none or NFC)")
    default: throw document.fail("normalizer is not an object")
    }
    let tokens = try document.tokensById()
    var types = [Int](repeating: 1, count: tokens.count)
    var added: [Int: TokenizerJSONDocument.AddedToken] = [:]
    for token in document.addedTokens {
      types[token.id] = token.special ? 3 : 4
      added[token.id] = token
    }
    let bos = try document.beginOfSequence()
    try self.init(
      tokens: tokens, merges: document.merges.map { $0.0 + " " + $0.1 }, tokenTypes: types,
      endOfSequence: try document.endOfSequence(given: endOfSequence), beginOfSequence: bos.id,
      addsBeginOfSequence: bos.adds, preTokenizer: preTokenizer, normalizesToNFC: nfc,
      ignoresMerges: document.model["ignore_merges"] as? Bool ?? false,
      specialMatching: added.mapValues { ($0.stripsLeft, $0.stripsRight, $0.normalized) })
  }

  package static func tokenizerConfig(_ directory: String) -> [String: Any] { TokenizerJSONDocument.tokenizerConfig(directory) }

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
