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

/// Splits UTF-8 text at the special tokens in it: `special` for each match (longest first at each
/// position, only where `matches` allows that id), `ordinary` for the text between them.
func forEachSegment(
  _ bytes: [UInt8], specials: [(bytes: [UInt8], id: Int)], matches: (Int) -> Bool,
  ordinary: (ArraySlice<UInt8>) -> Void, special: (Int) -> Void
) {
  var start = 0
  var i = 0
  outer: while i < bytes.count && !specials.isEmpty {
    for (token, id) in specials where matches(id) && bytes[i...].starts(with: token) {
      if start < i { ordinary(bytes[start..<i]) }
      special(id)
      i += token.count
      start = i
      continue outer
    }
    i += 1
  }
  if start < bytes.count { ordinary(bytes[start...]) }
}
