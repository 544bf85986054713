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
