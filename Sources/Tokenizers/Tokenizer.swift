import ModelFiles

/// Text to token ids and back.
public protocol Tokenizer: Sendable {
  var vocabularySize: Int { get }
  /// The id that ends a turn or a document; generation stops on it.
  var endOfSequence: Int { get }
  /// The id that begins a document, if the vocabulary has one.
  var beginOfSequence: Int? { get }
  /// Whether a document starts with ``beginOfSequence`` (GGUF `tokenizer.ggml.add_bos_token`,
  /// `add_bos_token` in tokenizer_config.json, or the post-processor of tokenizer.json).
  var addsBeginOfSequence: Bool { get }
  /// Token ids of `text`. With `parseSpecial`, control-token strings such as
  /// `<|im_start|>` become their ids; without it they are ordinary text.
  func encode(_ text: String, parseSpecial: Bool) -> [Int]
  /// The exact bytes the ids stand for.
  func decodeBytes(_ ids: [Int], skipSpecial: Bool) -> [UInt8]
  /// The text of the ids; control tokens are left out when `skipSpecial`.
  func decode(_ ids: [Int], skipSpecial: Bool) -> String
  /// The string form of one token, for display.
  func tokenText(_ id: Int) -> String
}

extension Tokenizer {
  /// What a steering or activation file records of the tokenizer: its kind, pre-tokenizer and size,
  /// e.g. `bpe-llama3/128256` or `sentencepiece/256000`.
  public var identifier: String {
    switch self {
    case let bpe as BPETokenizer: "bpe-\(bpe.preTokenizer.rawValue)/\(vocabularySize)"
    case is SentencePieceTokenizer: "sentencepiece/\(vocabularySize)"
    default: "tokenizer/\(vocabularySize)"
    }
  }

  /// Token ids of `text` as a whole document: BOS first where the tokenizer adds one, even
  /// before a BOS the text already holds, as transformers and llama.cpp do. Chat prompts need
  /// not use this: their templates write BOS.
  public func encodeDocument(_ text: String, parseSpecial: Bool) -> [Int] {
    let ids = encode(text, parseSpecial: parseSpecial)
    guard addsBeginOfSequence, let bos = beginOfSequence else { return ids }
    return [bos] + ids
  }

  public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
    String(decoding: decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
  }
}

/// A special token as matched in text: its bytes and id, and whether it swallows the whitespace
/// on its left or right (`lstrip` / `rstrip` of a tokenizer.json added token).
struct SpecialToken {
  var bytes: [UInt8]
  var id: Int
  var stripsLeft = false
  var stripsRight = false
}

/// Splits UTF-8 text at the special tokens in it: `special` for each match (longest first at each
/// position, only where `matches` allows that id), `ordinary` for the text between them.
func forEachSegment(
  _ bytes: [UInt8], specials: [SpecialToken], matches: (Int) -> Bool,
  ordinary: (ArraySlice<UInt8>) -> Void, special: (Int) -> Void
) {
  var start = 0
  var i = 0
  outer: while i < bytes.count && !specials.isEmpty {
    for token in specials where matches(token.id) && bytes[i...].starts(with: token.bytes) {
      let end = token.stripsLeft ? whitespaceStart(bytes, before: i, notBefore: start) : i
      if start < end { ordinary(bytes[start..<end]) }
      special(token.id)
      i += token.bytes.count
      if token.stripsRight { i = whitespaceEnd(bytes, from: i) }
      start = i
      continue outer
    }
    i += 1
  }
  if start < bytes.count { ordinary(bytes[start...]) }
}

/// Where the run of whitespace scalars that ends at `i` begins (not before `floor`).
private func whitespaceStart(_ bytes: [UInt8], before i: Int, notBefore floor: Int) -> Int {
  var j = i
  while j > floor {
    var k = j - 1
    while k > floor && bytes[k] & 0xC0 == 0x80 { k -= 1 }
    guard let scalar = String(decoding: bytes[k..<j], as: UTF8.self).unicodeScalars.first, scalar.properties.isWhitespace
    else { break }
    j = k
  }
  return j
}

/// Where the run of whitespace scalars that starts at `i` ends.
private func whitespaceEnd(_ bytes: [UInt8], from i: Int) -> Int {
  var j = i
  while j < bytes.count {
    var k = j + 1
    while k < bytes.count && bytes[k] & 0xC0 == 0x80 { k += 1 }
    guard let scalar = String(decoding: bytes[j..<k], as: UTF8.self).unicodeScalars.first, scalar.properties.isWhitespace
    else { break }
    j = k
  }
  return j
}
