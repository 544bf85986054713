import Foundation

/// SentencePiece-style BPE (Gemma, Llama 2, Mistral): spaces become `▁` (U+2581), optionally
/// with one `▁` prepended; the text's characters are merged, at each step the adjacent pair whose
/// concatenation is the vocabulary piece of highest score (leftmost on ties); characters that end
/// as no piece fall back to their UTF-8 bytes as `<0xNN>` tokens, or to the unknown token.
///
/// Pieces are held as UTF-8 bytes, never as `String` keys.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
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
  public let unknownToken: Int
  /// Whether a `▁` is put before the text (Llama 2: yes; Gemma: no).
  public let addsDummyPrefix: Bool
  private let idForPiece: [[UInt8]: Int]
  private let byteTokens: [Int?]
  /// The byte each `<0xNN>` piece stands for.
  private let byteOfPiece: [Int: UInt8]
  /// User-defined and control pieces matched whole in text when asked, longest first.
  private let specialPieces: [SpecialToken]

  public var vocabularySize: Int { pieces.count }

  static let space = Array("\u{2581}".utf8)

  public init(
    pieces: [[UInt8]], scores: [Float], types: [PieceType], endOfSequence: Int, beginOfSequence: Int?, unknownToken: Int,
    addsDummyPrefix: Bool
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
    self.unknownToken = unknownToken
    self.addsDummyPrefix = addsDummyPrefix
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
    specialPieces = pieces.indices.filter { (types[$0] == .control || types[$0] == .userDefined) && !pieces[$0].isEmpty }
      .map { SpecialToken(bytes: pieces[$0], id: $0) }.sorted { $0.bytes.count > $1.bytes.count }
  }

  public func encode(_ text: String, parseSpecial: Bool) -> [Int] {
    var normalized: [UInt8] = addsDummyPrefix && !text.isEmpty ? Self.space : []
    for b in text.utf8 { if b == 0x20 { normalized += Self.space } else { normalized.append(b) } }
    var ids: [Int] = []
    // User-defined pieces are atomic wherever they occur, as in SentencePiece; control pieces
    // only when asked (rendered chat prompts).
    forEachSegment(
      normalized, specials: specialPieces, matches: { parseSpecial || self.types[$0] == .userDefined },
      ordinary: { merge($0, into: &ids) }, special: { ids.append($0) })
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
    while symbols.count > 1 {
      var best: (score: Float, index: Int)?
      for k in 0..<(symbols.count - 1) {
        guard let id = idForPiece[Array(symbols[k]) + Array(symbols[k + 1])] else { continue }
        if best == nil || scores[id] > best!.score { best = (scores[id], k) }
      }
      guard let best else { break }
      let merged = text[symbols[best.index].startIndex..<symbols[best.index + 1].endIndex]
      symbols[best.index] = merged
      symbols.remove(at: best.index + 1)
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
    let types = (m["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []).map { PieceType(rawValue: $0) ?? .normal }
    guard types.count == tokens.count else {
      throw ModelError.wrongKeyType(key: "tokenizer.ggml.token_type", expected: "one type per token")
    }
    guard let eos = m["tokenizer.ggml.eos_token_id"]?.int else { throw ModelError.missingKey("tokenizer.ggml.eos_token_id") }
    try self.init(
      pieces: tokens.map { Array($0.utf8) }, scores: scores.map(Float.init), types: types, endOfSequence: eos,
      beginOfSequence: m["tokenizer.ggml.bos_token_id"]?.int, unknownToken: m["tokenizer.ggml.unknown_token_id"]?.int ?? 0,
      addsDummyPrefix: m["tokenizer.ggml.add_space_prefix"]?.bool ?? true)
  }
}
