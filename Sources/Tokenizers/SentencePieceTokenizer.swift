import Foundation
import ModelFiles

/// SentencePiece-style BPE (Gemma, Llama 2, Mistral): spaces become `▁` (U+2581), optionally
/// with one `▁` prepended; the text's characters are merged, at each step the adjacent pair whose
/// concatenation is the vocabulary piece of highest score (leftmost on ties); characters that end
/// as no piece fall back to their UTF-8 bytes as `<0xNN>` tokens, or to the unknown token.
///
/// Text with special pieces in it is split at them first, and the references differ on where the
/// `▁` prefix goes then. From `tokenizer.json` this follows the sentencepiece package:
/// user-defined pieces sit inside the text, so the prefix belongs to the text's start even when a
/// user-defined piece is there. From GGUF it follows llama.cpp: every special piece is a
/// boundary, the text after it gets its own prefix and none goes before it. Either way the text
/// after a control piece (parsed from a rendered prompt) gets its own `▁`, as Llama 2 was trained
/// (each segment encoded on its own, control ids put between).
///
/// Pieces are held as UTF-8 bytes, never as `String` keys.
public final class SentencePieceTokenizer: Tokenizer, Sendable {
  /// llama.cpp's token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
  public enum PieceType: Int, Sendable {
    case normal = 1
    case unknown, control, userDefined, unused, byte
  }

  public let pieces: [[UInt8]]
  public let scores: [Float]
  public let types: [PieceType]
  public let endOfSequence: Int
  public let beginOfSequence: Int?
  public let addsBeginOfSequence: Bool
  public let unknownToken: Int
  /// Whether a `▁` is put before the text (Llama 2: yes; Gemma: no).
  public let addsDummyPrefix: Bool
  /// Whether text after a user-defined piece gets its own `▁` (llama.cpp) or not (sentencepiece).
  public let prefixesAfterUserDefined: Bool
  private let idForPiece: [[UInt8]: Int]
  private let byteTokens: [Int?]
  /// The byte each `<0xNN>` piece stands for.
  private let byteOfPiece: [Int: UInt8]
  /// User-defined and control pieces matched whole in text when asked, longest first.
  private let specialPieces: SpecialTokenTrie

  public var vocabularySize: Int { pieces.count }

  static let space = Array("\u{2581}".utf8)

  /// - Parameters:
  ///   - addsBeginOfSequence: whether ``encodeDocument(_:parseSpecial:)`` starts with BOS.
  ///   - rawMatched: special pieces matched in the raw text as they are; the others are matched
  ///     as the normalizer leaves them (`▁` for spaces in their text).
  public init(
    pieces: [[UInt8]], scores: [Float], types: [PieceType], endOfSequence: Int, beginOfSequence: Int?,
    addsBeginOfSequence: Bool = false, unknownToken: Int, addsDummyPrefix: Bool, prefixesAfterUserDefined: Bool = false,
    rawMatched: Set<Int> = []
  ) throws {
    guard !pieces.isEmpty, scores.count == pieces.count, types.count == pieces.count else {
      throw ModelError.unsupportedTokenizer("SentencePiece vocabulary needs as many scores and types as pieces")
    }
    for id in [endOfSequence, unknownToken] + (beginOfSequence.map { [$0] } ?? []) where !pieces.indices.contains(id) {
      throw ModelError.tokenOutOfRange(id, vocabularySize: pieces.count)
    }
    self.pieces = pieces
    self.scores = scores
    self.types = types
    self.endOfSequence = endOfSequence
    self.beginOfSequence = beginOfSequence
    self.addsBeginOfSequence = addsBeginOfSequence && beginOfSequence != nil
    self.unknownToken = unknownToken
    self.addsDummyPrefix = addsDummyPrefix
    self.prefixesAfterUserDefined = prefixesAfterUserDefined
    var index: [[UInt8]: Int] = [:]
    var bytes = [Int?](repeating: nil, count: 256)
    var byteOfPiece: [Int: UInt8] = [:]
    for (i, p) in pieces.enumerated() {
      if types[i] == .byte {
        // A byte piece is "<0xNN>"; one that is not stands for nothing.
        guard p.count == 6, let b = UInt8(String(decoding: p[3..<5], as: UTF8.self), radix: 16) else { continue }
        bytes[Int(b)] = i
        byteOfPiece[i] = b
      } else if types[i] == .normal || types[i] == .userDefined, index[p] == nil {
        index[p] = i
      }
    }
    idForPiece = index
    byteTokens = bytes
    self.byteOfPiece = byteOfPiece
    // Matched in the raw text: a piece's `▁`s stand for the spaces the normalizer made them from.
    specialPieces = SpecialTokenTrie(pieces.indices.filter { (types[$0] == .control || types[$0] == .userDefined) && !pieces[$0].isEmpty }
      .map { id in
        var text = pieces[id][...]
        var bytes: [UInt8] = []
        while !rawMatched.contains(id), let r = text.firstRange(of: Self.space) {
          bytes += text[..<r.lowerBound] + [0x20]
          text = text[r.upperBound...]
        }
        return SpecialToken(bytes: bytes + text, id: id)
      }
      .sorted { $0.bytes.count > $1.bytes.count })
  }

  public func encode(_ text: String, parseSpecial: Bool) -> [Int] {
    var ids: [Int] = []
    var prefixed = !addsDummyPrefix
    // User-defined pieces are atomic wherever they occur, as in SentencePiece; control pieces
    // only when asked (rendered chat prompts).
    specialPieces.forEachSegment(
      of: Array(text.utf8), matches: { parseSpecial || self.types[$0] == .userDefined },
      ordinary: { raw in
        var normalized: [UInt8] = prefixed ? [] : Self.space
        for b in raw { if b == 0x20 { normalized += Self.space } else { normalized.append(b) } }
        merge(normalized[...], into: &ids)
        prefixed = true
      },
      special: { id in
        if self.types[id] == .control || self.prefixesAfterUserDefined {
          prefixed = !self.addsDummyPrefix
        } else if !prefixed {
          merge(Self.space[...], into: &ids)
          prefixed = true
        }
        ids.append(id)
      })
    return ids
  }

  /// BPE over the characters of `text` by piece score, then byte fallback.
  private func merge(_ text: ArraySlice<UInt8>, into ids: inout [Int]) {
    // Symbols: runs of bytes, one UTF-8 character each.
    var symbols: [ArraySlice<UInt8>] = []
    var i = text.startIndex
    while i < text.endIndex {
      let lead = text[i]
      let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 1
      let end = min(text.endIndex, i + length)
      symbols.append(text[i..<end])
      i = end
    }
    // Highest score first, leftmost on ties (``PairMerge``; its lowest priority is the negated score).
    symbols = PairMerge.run(symbols) { left, right in
      let merged = text[left.startIndex..<right.endIndex]
      return idForPiece[Array(merged)].map { (-scores[$0], merged) }
    }
    for s in symbols {
      if let id = idForPiece[Array(s)] {
        ids.append(id)
      } else if byteTokens[Int(s.first!)] != nil {
        for b in s { ids.append(byteTokens[Int(b)] ?? unknownToken) }
      } else {
        ids.append(unknownToken)
      }
    }
  }

  public func decodeBytes(_ ids: [Int], skipSpecial: Bool) -> [UInt8] {
    var out: [UInt8] = []
    for id in ids where pieces.indices.contains(id) {
      switch types[id] {
      case .byte:
        if let b = byteOfPiece[id] { out.append(b) }
      case .control, .unknown, .unused:
        if !skipSpecial { out += pieces[id] }
      case .normal, .userDefined:
        var p = pieces[id][...]
        while let r = p.firstRange(of: Self.space) {
          out += p[..<r.lowerBound]
          out.append(0x20)
          p = p[r.upperBound...]
        }
        out += p
      }
    }
    if addsDummyPrefix, out.first == 0x20 { out.removeFirst() }
    return out
  }

  public func tokenText(_ id: Int) -> String {
    pieces.indices.contains(id) ? String(decoding: pieces[id], as: UTF8.self) : "<?\(id)>"
  }
}

extension SentencePieceTokenizer {
  /// A GGUF vocabulary with `tokenizer.ggml.model = llama`: tokens, scores and token types.
  public convenience init(gguf: GGUFFile) throws {
    let m = gguf.metadata
    guard let tokens = m["tokenizer.ggml.tokens"]?.array?.compactMap(\.string), !tokens.isEmpty else {
      throw ModelError.missingKey("tokenizer.ggml.tokens")
    }
    guard let scores = m["tokenizer.ggml.scores"]?.array?.compactMap(\.double), scores.count == tokens.count else {
      throw ModelError.wrongKeyType(key: "tokenizer.ggml.scores", expected: "one number per token")
    }
    guard let typeValues = try ggufTokenTypes(m, tokenCount: tokens.count) else {
      throw ModelError.wrongKeyType(key: "tokenizer.ggml.token_type", expected: "one type per token")
    }
    let types = typeValues.map { PieceType(rawValue: $0) ?? .normal }
    guard let eos = m["tokenizer.ggml.eos_token_id"]?.int else { throw ModelError.missingKey("tokenizer.ggml.eos_token_id") }
    try self.init(
      pieces: tokens.map { Array($0.utf8) }, scores: scores.map(Float.init), types: types, endOfSequence: eos,
      beginOfSequence: m["tokenizer.ggml.bos_token_id"]?.int,
      addsBeginOfSequence: m["tokenizer.ggml.add_bos_token"]?.bool ?? true,
      unknownToken: m["tokenizer.ggml.unknown_token_id"]?.int ?? 0,
      addsDummyPrefix: m["tokenizer.ggml.add_space_prefix"]?.bool ?? true, prefixesAfterUserDefined: true)
  }

  /// A SentencePiece model as a `tokenizer.json` holds it: BPE with `byte_fallback`, spaces made
  /// `▁` by the normalizer (`Replace`, with `Prepend("▁")` for the dummy prefix; Llama 2, Gemma)
  /// or by a `Metaspace` pre-tokenizer (transformers 5). A piece's score is the rank of the first
  /// merge that makes it (better merges first); the `<0xNN>` pieces are the byte fallback.
  convenience init(document: TokenizerJSONDocument, endOfSequence: Int?) throws {
    let addsDummyPrefix = try Self.dummyPrefix(document)
    let texts = try document.tokensById()
    var scores = [Float](repeating: -.infinity, count: texts.count)
    for (rank, (left, right)) in document.merges.enumerated().reversed() {
      if let id = document.vocab[Array((left + right).utf8)] { scores[id] = -Float(rank) }
    }
    let unknownName = document.model["unk_token"] as? String
    let byteFallback = document.model["byte_fallback"] as? Bool ?? false
    var types = texts.map { text -> PieceType in
      if text == unknownName { return .unknown }
      if byteFallback, text.utf8.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">") { return .byte }
      return .normal
    }
    var raw = Set<Int>()
    for added in document.addedTokens where types[added.id] != .unknown {
      types[added.id] = added.special ? .control : .userDefined
      if !added.normalized { raw.insert(added.id) }
    }
    let bos = try document.beginOfSequence()
    try self.init(
      pieces: texts.map { Array($0.utf8) }, scores: scores, types: types,
      endOfSequence: try document.endOfSequence(given: endOfSequence), beginOfSequence: bos.id,
      addsBeginOfSequence: bos.adds, unknownToken: unknownName.flatMap(document.id(of:)) ?? 0,
      addsDummyPrefix: addsDummyPrefix, rawMatched: raw)
  }

  /// Whether the file's normalizer and pre-tokenizer put a `▁` before the text; any step other
  /// than those SentencePiece models use is an error naming it.
  private static func dummyPrefix(_ document: TokenizerJSONDocument) throws -> Bool {
    var prefix = false
    var replaces = false
    for step in TokenizerJSONDocument.steps(document.root["normalizer"]) {
      switch step["type"] as? String {
      case "Prepend" where step["prepend"] as? String == "\u{2581}": prefix = true
      case "Replace" where (step["pattern"] as? [String: Any])?["String"] as? String == " " && step["content"] as? String == "\u{2581}":
        replaces = true
      default: throw document.fail("normalizer step '\(step["type"] ?? "?")' is not supported for a SentencePiece model")
      }
    }
    for step in TokenizerJSONDocument.steps(document.root["pre_tokenizer"]) {
      guard step["type"] as? String == "Metaspace", step["replacement"] as? String ?? "\u{2581}" == "\u{2581}",
        step["split"] as? Bool != true
      else {
        throw document.fail(
          "pre_tokenizer '\(step["type"] ?? "?")' is not supported for a SentencePiece model (Metaspace without split only)")
      }
      replaces = true
      let scheme = step["prepend_scheme"] as? String ?? ((step["add_prefix_space"] as? Bool ?? true) ? "always" : "never")
      prefix = scheme != "never"
    }
    guard replaces else { throw document.fail("a SentencePiece model needs spaces replaced by ▁ (normalizer Replace or Metaspace)") }
    return prefix
  }
}
