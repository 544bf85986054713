/// A special token as matched in text: its bytes and id, and whether it swallows the whitespace
/// on its left or right (`lstrip` / `rstrip` of a tokenizer.json added token).
public struct SpecialToken: Sendable, Equatable {
  public var bytes: [UInt8]
  public var id: Int
  public var stripsLeft = false
  public var stripsRight = false

  public init(bytes: [UInt8], id: Int, stripsLeft: Bool = false, stripsRight: Bool = false) {
    (self.bytes, self.id, self.stripsLeft, self.stripsRight) = (bytes, id, stripsLeft, stripsRight)
  }
}

/// Special tokens in a byte trie, so that finding the ones that start at a position reads only
/// as many bytes as the longest candidate there. A vocabulary's specials can number thousands
/// (Gemma 3 has 6,414, 6,321 of them starting with `<`): trying each at every byte made
/// SentencePiece encoding about 20 KB/s.
public struct SpecialTokenTrie: Sendable {
  public let tokens: [SpecialToken]
  /// Child of (node << 8 | byte); node 0 is the root.
  private var children: [UInt64: Int] = [:]
  /// For each node, the tokens whose bytes end there, in the order of `tokens`.
  private var ending: [[Int]] = [[]]

  /// `tokens` in priority order: where two have the same bytes, the earlier one is taken. A token
  /// without bytes never matches.
  public init(_ tokens: [SpecialToken]) {
    self.tokens = tokens
    for (k, token) in tokens.enumerated() where !token.bytes.isEmpty {
      var node = 0
      for byte in token.bytes {
        let key = UInt64(node) << 8 | UInt64(byte)
        if let child = children[key] {
          node = child
        } else {
          children[key] = ending.count
          node = ending.count
          ending.append([])
        }
      }
      ending[node].append(k)
    }
  }

  public var isEmpty: Bool { ending.count == 1 }

  /// The longest token at `bytes[i...]` that `matches` allows (the earliest of equal ones).
  public func longestMatch(in bytes: [UInt8], at i: Int, matches: (Int) -> Bool) -> SpecialToken? {
    var node = 0
    var best: SpecialToken?
    var j = i
    while j < bytes.count, let child = children[UInt64(node) << 8 | UInt64(bytes[j])] {
      node = child
      j += 1
      if let k = ending[node].first(where: { matches(tokens[$0].id) }) { best = tokens[k] }
    }
    return best
  }

  /// Splits UTF-8 text at the special tokens in it: `special` for each match (longest first at each
  /// position, only where `matches` allows that id), `ordinary` for the text between them.
  public func forEachSegment(
    of bytes: [UInt8], matches: (Int) -> Bool, ordinary: (ArraySlice<UInt8>) -> Void, special: (Int) -> Void
  ) {
    var start = 0
    var i = 0
    while i < bytes.count && !isEmpty {
      guard let token = longestMatch(in: bytes, at: i, matches: matches) else {
        i += 1
        continue
      }
      let end = token.stripsLeft ? whitespaceStart(bytes, before: i, notBefore: start) : i
      if start < end { ordinary(bytes[start..<end]) }
      special(token.id)
      i += token.bytes.count
      if token.stripsRight { i = whitespaceEnd(bytes, from: i) }
      start = i
    }
    if start < bytes.count { ordinary(bytes[start...]) }
  }
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
