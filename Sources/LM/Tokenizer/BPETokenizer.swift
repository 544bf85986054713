import Foundation

/// Byte-level BPE (GPT-2 family), built from a GGUF file's `tokenizer.ggml.*` metadata.
///
/// Text is split by ``PreTokenizer``, each piece's UTF-8 bytes become byte-alphabet tokens,
/// and adjacent pairs are merged lowest rank first (rank = position in the stored merge
/// list) until no stored merge applies.
public final class BPETokenizer: Tokenizer, @unchecked Sendable {
  public let tokens: [String]
  public let endOfSequence: Int
  public let beginOfSequence: Int?
  /// Ids of control and user-defined tokens, matched as whole strings when asked.
  public let specialTokens: [Int]
  private let tokenTypes: [Int]
  private let idForToken: [String: Int]
  /// (left id << 32 | right id) → (rank, merged id).
  private let merges: [UInt64: (rank: Int32, merged: Int32)]
  private let byteToken: [Int32]
  private let specialFirstCharacters: Set<Character>
  private var cache: [String: [Int32]] = [:]
  private let cacheLock = NSLock()

  public var vocabularySize: Int { tokens.count }

  public convenience init(gguf: GGUFFile) throws {
    let metadata = gguf.metadata
    guard let model = metadata["tokenizer.ggml.model"]?.string else {
      throw ModelError.missingKey("tokenizer.ggml.model")
    }
    guard model == "gpt2" else { throw ModelError.unsupportedTokenizer("tokenizer.ggml.model is '\(model)', not gpt2") }
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
    let types = metadata["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
    guard let eos = metadata["tokenizer.ggml.eos_token_id"]?.int else {
      throw ModelError.missingKey("tokenizer.ggml.eos_token_id")
    }
    try self.init(
      tokens: tokens, merges: mergeStrings, tokenTypes: types, endOfSequence: eos,
      beginOfSequence: metadata["tokenizer.ggml.bos_token_id"]?.int,
      unknownToken: metadata["tokenizer.ggml.unknown_token_id"]?.int)
  }

  /// - Parameters:
  ///   - tokens: the vocabulary in the byte-level alphabet.
  ///   - merges: "left right" strings, best first.
  ///   - tokenTypes: llama.cpp token types (1 normal, 3 control, 4 user-defined); may be empty.
  public init(
    tokens: [String], merges: [String], tokenTypes: [Int], endOfSequence: Int, beginOfSequence: Int?,
    unknownToken: Int? = nil
  ) throws {
    guard !tokens.isEmpty else { throw ModelError.unsupportedTokenizer("the vocabulary is empty") }
    guard tokens.indices.contains(endOfSequence) else {
      throw ModelError.tokenOutOfRange(endOfSequence, vocabularySize: tokens.count)
    }
    self.tokens = tokens
    self.endOfSequence = endOfSequence
    self.beginOfSequence = beginOfSequence
    self.tokenTypes = tokenTypes.count == tokens.count ? tokenTypes : [Int](repeating: 1, count: tokens.count)
    var index: [String: Int] = [:]
    index.reserveCapacity(tokens.count)
    for (i, t) in tokens.enumerated() where index[t] == nil { index[t] = i }
    idForToken = index

    // Vocabularies may lack bytes that never occur in UTF-8 text (0xC0, 0xF5…); those
    // encode as the unknown token, as llama.cpp does.
    let unknown = Int32(unknownToken ?? 0)
    let byteToken = (0..<256).map { b in
      index[String(Character(ByteLevelAlphabet.scalarForByte[b]))].map(Int32.init) ?? unknown
    }
    self.byteToken = byteToken

    var table: [UInt64: (rank: Int32, merged: Int32)] = [:]
    table.reserveCapacity(merges.count)
    for (rank, merge) in merges.enumerated() {
      let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
      guard parts.count == 2, let l = index[String(parts[0])], let r = index[String(parts[1])],
        let m = index[String(parts[0]) + String(parts[1])]
      else { continue }  // a merge whose parts are not tokens can never fire
      let key = UInt64(l) << 32 | UInt64(r)
      if table[key] == nil { table[key] = (Int32(rank), Int32(m)) }
    }
    self.merges = table
    let types = self.tokenTypes
    let special = types.indices
      .filter { (types[$0] == 3 || types[$0] == 4) && !tokens[$0].isEmpty }
      .sorted { tokens[$0].utf8.count > tokens[$1].utf8.count }
    specialTokens = special
    specialFirstCharacters = Set(special.compactMap { tokens[$0].first })
  }

  public func tokenText(_ id: Int) -> String {
    tokens.indices.contains(id) ? String(decoding: decodeBytes([id], skipSpecial: false), as: UTF8.self) : "<?\(id)>"
  }

  public func isSpecial(_ id: Int) -> Bool {
    tokenTypes.indices.contains(id) && (tokenTypes[id] == 3 || tokenTypes[id] == 4)
  }

  public func encode(_ text: String, parseSpecial: Bool) -> [Int] {
    var ids: [Int] = []
    for segment in segments(text, parseSpecial: parseSpecial) {
      switch segment {
      case .special(let id): ids.append(id)
      case .text(let t): encodeOrdinary(t, into: &ids)
      }
    }
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

  private enum Segment {
    case text(Substring)
    case special(Int)
  }

  /// Splits out special-token strings, longest first at each position.
  private func segments(_ text: String, parseSpecial: Bool) -> [Segment] {
    guard parseSpecial, !specialTokens.isEmpty else { return [.text(text[...])] }
    var result: [Segment] = []
    var textStart = text.startIndex
    var i = text.startIndex
    outer: while i < text.endIndex {
      if specialFirstCharacters.contains(text[i]) {
        for id in specialTokens where text[i...].hasPrefix(tokens[id]) {
          if textStart < i { result.append(.text(text[textStart..<i])) }
          result.append(.special(id))
          i = text.index(i, offsetBy: tokens[id].count)
          textStart = i
          continue outer
        }
      }
      i = text.index(after: i)
    }
    if textStart < text.endIndex { result.append(.text(text[textStart...])) }
    return result
  }

  private func encodeOrdinary(_ text: Substring, into ids: inout [Int]) {
    let scalars = Array(text.unicodeScalars)
    for piece in PreTokenizer.split(scalars) {
      var word = String.UnicodeScalarView()
      word.append(contentsOf: scalars[piece])
      let key = String(word)
      cacheLock.lock()
      let cached = cache[key]
      cacheLock.unlock()
      if let cached {
        ids.append(contentsOf: cached.lazy.map(Int.init))
        continue
      }
      let merged = bpe(Array(key.utf8))
      cacheLock.lock()
      if cache.count > 100_000 { cache.removeAll(keepingCapacity: true) }
      cache[key] = merged
      cacheLock.unlock()
      ids.append(contentsOf: merged.lazy.map(Int.init))
    }
  }

  /// Merges byte tokens, always applying the lowest-ranked pair, leftmost on ties.
  private func bpe(_ bytes: [UInt8]) -> [Int32] {
    var symbols = bytes.map { byteToken[Int($0)] }
    while symbols.count > 1 {
      var best: (rank: Int32, index: Int, merged: Int32)? = nil
      for i in 0..<(symbols.count - 1) {
        let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
        if let m = merges[key], best == nil || m.rank < best!.rank {
          best = (m.rank, i, m.merged)
        }
      }
      guard let best else { break }
      symbols[best.index] = best.merged
      symbols.remove(at: best.index + 1)
    }
    return symbols
  }
}
