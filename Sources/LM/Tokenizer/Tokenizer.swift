/// Text to token ids and back.
public protocol Tokenizer: Sendable {
  var vocabularySize: Int { get }
  /// The id that ends a turn or a document; generation stops on it.
  var endOfSequence: Int { get }
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
  public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
    String(decoding: decodeBytes(ids, skipSpecial: skipSpecial), as: UTF8.self)
  }
}
