import Foundation
import ModelFiles
import Synchronization

/// Byte-level BPE (GPT-2, SmolLM, Llama 3, Qwen), built from a GGUF file's `tokenizer.ggml.*`
/// metadata, a `tokenizer.json`, or a tiktoken rank file.
///
/// Text is split by its ``PreTokenizer``, each piece's UTF-8 bytes become byte-alphabet tokens,
/// and adjacent pairs are merged lowest rank first (rank = position in the stored merge
/// list) until no stored merge applies. Vocabulary, special tokens and the cache are keyed on
/// bytes, never on `String` (whose equality is canonical equivalence).
public final class BPETokenizer: Tokenizer, Sendable {
  public let tokens: [String]
  public let endOfSequence: Int
  public let beginOfSequence: Int?
  public let addsBeginOfSequence: Bool
  /// Ids of control and user-defined tokens, matched as whole strings when asked.
  public let specialTokens: [Int]
  private let tokenTypes: [Int]
  public let preTokenizer: PreTokenizer
  /// Applied to text before pre-tokenization (Qwen's tokenizer.json asks for NFC).
  public let normalizesToNFC: Bool
  /// A piece that is itself a token becomes that token without merging (tiktoken, and
  /// `ignore_merges` of Llama-3's tokenizer.json): some of those tokens no merge sequence reaches.
  public let ignoresMerges: Bool
  private let idForBytes: [[UInt8]: Int32]
  /// (left id << 32 | right id) → (rank, merged id).
  private let merges: [UInt64: (rank: Int32, merged: Int32)]
  private let byteToken: [Int32]
  /// The special tokens matched in the raw text, and those matched after normalization
  /// (a tokenizer.json added token's `normalized`; NFC applies to both its text and the input),
  /// each longest first.
  private let rawSpecials: SpecialTokenTrie
  private let normalizedSpecials: SpecialTokenTrie
  /// Merges of pieces already seen, shared by every thread that encodes.
  private let cache = Mutex<[[UInt8]: [Int32]]>([:])

  public var vocabularySize: Int { tokens.count }

  public convenience init(gguf: GGUFFile) throws {
    let metadata = gguf.metadata
    guard let model = metadata["tokenizer.ggml.model"]?.string else {
      throw ModelError.missingKey("tokenizer.ggml.model")
    }
    guard model == "gpt2" else {
      throw ModelError.unsupportedTokenizer("tokenizer.ggml.model is '\(model)'; supported: gpt2 (byte-level BPE), llama (SentencePiece)")
    }
    guard let tokenValues = metadata["tokenizer.ggml.tokens"]?.array else {
      throw ModelError.missingKey("tokenizer.ggml.tokens")
    }
    let tokens = try tokenValues.map { value -> String in
      guard let s = value.string else {
        throw ModelError.wrongKeyType(key: "tokenizer.ggml.tokens", expected: "an array of strings")
      }
      return s
    }
    let mergeStrings = try (metadata["tokenizer.ggml.merges"]?.array ?? []).map { value -> String in
      guard let s = value.string else {
        throw ModelError.wrongKeyType(key: "tokenizer.ggml.merges", expected: "an array of strings")
      }
      return s
    }
    let types = try ggufTokenTypes(metadata, tokenCount: tokens.count) ?? []
    guard let eos = metadata["tokenizer.ggml.eos_token_id"]?.int else {
      throw ModelError.missingKey("tokenizer.ggml.eos_token_id")
    }
    guard let pre = metadata["tokenizer.ggml.pre"]?.string else { throw ModelError.missingKey("tokenizer.ggml.pre") }
    guard let preTokenizer = PreTokenizer.ggufNames[pre] else {
      throw ModelError.unsupportedTokenizer(
        "tokenizer.ggml.pre '\(pre)' is not supported (known: \(PreTokenizer.ggufNames.keys.sorted().joined(separator: ", ")))")
    }
    // llama.cpp's rule: Llama 3 ('llama-bpe') documents begin with BOS, other byte-level ones
    // not, unless tokenizer.ggml.add_bos_token says.
    let bos = metadata["tokenizer.ggml.bos_token_id"]?.int
    let adds = metadata["tokenizer.ggml.add_bos_token"]?.bool ?? (pre == "llama-bpe" || pre == "llama3")
    // llama.cpp ignores merges for Llama 3's vocabulary, as its tokenizer.json says: " Việt" is
    // one token there that no merge sequence reaches.
    try self.init(
      tokens: tokens, merges: mergeStrings, tokenTypes: types, endOfSequence: eos,
      beginOfSequence: bos, addsBeginOfSequence: adds && bos != nil,
      unknownToken: metadata["tokenizer.ggml.unknown_token_id"]?.int, preTokenizer: preTokenizer,
      ignoresMerges: preTokenizer == .llama3)
  }

  /// - Parameters:
  ///   - tokens: the vocabulary in the byte-level alphabet.
  ///   - merges: "left right" strings, best first.
  ///   - tokenTypes: llama.cpp token types (1 normal, 3 control, 4 user-defined); may be empty.
  ///   - preTokenizer: how text is split before merging.
  ///   - addsBeginOfSequence: whether ``encodeDocument(_:parseSpecial:)`` starts with BOS.
  ///   - specialMatching: for added tokens, whether they swallow the whitespace on their left
  ///     or right, and whether they are matched in the normalized text (else the raw text).
  public init(
    tokens: [String], merges: [String], tokenTypes: [Int], endOfSequence: Int, beginOfSequence: Int?,
    addsBeginOfSequence: Bool = false, unknownToken: Int? = nil, preTokenizer: PreTokenizer = .smollm,
    normalizesToNFC: Bool = false, ignoresMerges: Bool = false,
    specialMatching: [Int: (left: Bool, right: Bool, normalized: Bool)] = [:]
  ) throws {
    guard !tokens.isEmpty else { throw ModelError.unsupportedTokenizer("the vocabulary is empty") }
    if let unknownToken, !tokens.indices.contains(unknownToken) {
      throw ModelError.tokenOutOfRange(unknownToken, vocabularySize: tokens.count)
    }
    guard tokens.indices.contains(endOfSequence) else {
      throw ModelError.tokenOutOfRange(endOfSequence, vocabularySize: tokens.count)
    }
    self.tokens = tokens
    self.endOfSequence = endOfSequence
    if let beginOfSequence, !tokens.indices.contains(beginOfSequence) {
      throw ModelError.tokenOutOfRange(beginOfSequence, vocabularySize: tokens.count)
    }
    self.beginOfSequence = beginOfSequence
    self.addsBeginOfSequence = addsBeginOfSequence && beginOfSequence != nil
    self.tokenTypes = tokenTypes.count == tokens.count ? tokenTypes : [Int](repeating: 1, count: tokens.count)
    self.preTokenizer = preTokenizer
    self.normalizesToNFC = normalizesToNFC
    self.ignoresMerges = ignoresMerges
    var index: [[UInt8]: Int] = [:]
    index.reserveCapacity(tokens.count)
    for (i, t) in tokens.enumerated() where index[Array(t.utf8)] == nil { index[Array(t.utf8)] = i }

    // Vocabularies may lack bytes that never occur in UTF-8 text (0xC0, 0xF5…); those
    // encode as the unknown token, as llama.cpp does.
    let unknown = Int32(unknownToken ?? 0)
    let byteToken = (0..<256).map { b in
      index[Array(String(Character(ByteLevelAlphabet.scalarForByte[b])).utf8)].map(Int32.init) ?? unknown
    }
    self.byteToken = byteToken

    var table: [UInt64: (rank: Int32, merged: Int32)] = [:]
    table.reserveCapacity(merges.count)
    for (rank, merge) in merges.enumerated() {
      let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
      guard parts.count == 2, let l = index[Array(parts[0].utf8)], let r = index[Array(parts[1].utf8)],
        let m = index[Array(parts[0].utf8) + Array(parts[1].utf8)]
      else { continue }  // a merge whose parts are not tokens can never fire
      let key = UInt64(l) << 32 | UInt64(r)
      if table[key] == nil { table[key] = (Int32(rank), Int32(m)) }
    }
    self.merges = table
    var byBytes: [[UInt8]: Int32] = [:]
    if ignoresMerges {
      for (i, t) in tokens.enumerated() where self.tokenTypes[i] == 1 {
        var raw: [UInt8] = []
        for s in t.unicodeScalars { if let b = ByteLevelAlphabet.byteForScalar[s.value] { raw.append(b) } }
        if byBytes[raw] == nil { byBytes[raw] = Int32(i) }
      }
    }
    idForBytes = byBytes
    let types = self.tokenTypes
    let special = types.indices
      .filter { (types[$0] == 3 || types[$0] == 4) && !tokens[$0].isEmpty }
      .sorted { tokens[$0].utf8.count > tokens[$1].utf8.count }
    specialTokens = special
    func matcher(_ id: Int) -> SpecialToken {
      let rule = specialMatching[id]
      let text = normalizesToNFC && rule?.normalized == true ? tokens[id].precomposedStringWithCanonicalMapping : tokens[id]
      return SpecialToken(bytes: Array(text.utf8), id: id, stripsLeft: rule?.left ?? false, stripsRight: rule?.right ?? false)
    }
    // Without a normalizer the raw and the normalized text are the same: one pass does.
    let afterNormalizing = normalizesToNFC ? special.filter { specialMatching[$0]?.normalized == true } : []
    rawSpecials = SpecialTokenTrie(special.filter { !afterNormalizing.contains($0) }.map(matcher))
    normalizedSpecials = SpecialTokenTrie(afterNormalizing.map(matcher).sorted { $0.bytes.count > $1.bytes.count })
  }

  public func tokenText(_ id: Int) -> String {
    tokens.indices.contains(id) ? String(decoding: decodeBytes([id], skipSpecial: false), as: UTF8.self) : "<?\(id)>"
  }

  public func isSpecial(_ id: Int) -> Bool {
    tokenTypes.indices.contains(id) && (tokenTypes[id] == 3 || tokenTypes[id] == 4)
  }

  /// Control tokens are matched only with `parseSpecial`; user-defined ones (non-special added
  /// tokens) always, as Hugging Face tokenizers and llama.cpp do.
  public func encode(_ text: String, parseSpecial: Bool) -> [Int] {
    var ids: [Int] = []
    let matches = { (id: Int) in parseSpecial || self.tokenTypes[id] == 4 }
    rawSpecials.forEachSegment(
      of: Array(text.utf8), matches: matches,
      ordinary: { raw in
        guard self.normalizesToNFC else { return self.encodeOrdinary(raw, into: &ids) }
        let normalized = Array(String(decoding: raw, as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)
        self.normalizedSpecials.forEachSegment(
          of: normalized, matches: matches,
          ordinary: { self.encodeOrdinary($0, into: &ids) }, special: { ids.append($0) })
      }, special: { ids.append($0) })
    return ids
  }

  public func decodeBytes(_ ids: [Int], skipSpecial: Bool) -> [UInt8] {
    var bytes: [UInt8] = []
    for id in ids where tokens.indices.contains(id) {
      if isSpecial(id) {
        if !skipSpecial { bytes.append(contentsOf: tokens[id].utf8) }
        continue
      }
      for s in tokens[id].unicodeScalars {
        if let b = ByteLevelAlphabet.byteForScalar[s.value] {
          bytes.append(b)
        } else {
          bytes.append(contentsOf: String(Character(s)).utf8)
        }
      }
    }
    return bytes
  }

  /// Pre-tokenizes and merges text that holds no special token. `text` is valid UTF-8: special
  /// tokens start and end on scalar boundaries.
  private func encodeOrdinary(_ text: ArraySlice<UInt8>, into ids: inout [Int]) {
    let string = String(decoding: text, as: UTF8.self)  // already NFC where the tokenizer asks
    let scalars = Array(string.unicodeScalars)
    for piece in preTokenizer.split(scalars) {
      var key: [UInt8] = []
      for scalar in scalars[piece] { key.append(contentsOf: UTF8.encode(scalar)!) }
      let cached = cache.withLock { $0[key] }
      if let cached {
        ids.append(contentsOf: cached.lazy.map(Int.init))
        continue
      }
      let merged = bpe(key)
      cache.withLock { cache in
        if cache.count > 100_000 { cache.removeAll(keepingCapacity: true) }
        cache[key] = merged
      }
      ids.append(contentsOf: merged.lazy.map(Int.init))
    }
  }

  /// Merges byte tokens, always applying the lowest-ranked pair, leftmost on ties (``PairMerge``).
  private func bpe(_ bytes: [UInt8]) -> [Int32] {
    if ignoresMerges, let whole = idForBytes[bytes] { return [whole] }
    return PairMerge.run(bytes.map { byteToken[Int($0)] }) { left, right in
      merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))].map { ($0.rank, $0.merged) }
    }
  }
}
