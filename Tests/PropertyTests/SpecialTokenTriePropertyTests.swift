import Tokenizers
import XCTest

/// ``SpecialTokenTrie`` against the scan it replaces: at each byte, try every special token, longest
/// first, and take the first whose id `matches` allows and whose bytes start there.
final class SpecialTokenTriePropertyTests: XCTestCase {
  private enum Segment: Equatable, CustomStringConvertible {
    case ordinary([UInt8])
    case special(Int)

    var description: String {
      switch self {
      case .ordinary(let bytes): "\(bytes)"
      case .special(let id): "#\(id)"
      }
    }
  }

  /// The scan the tokenizers ran before 2026-12-07 (every special at every byte), with the
  /// segmenting loop around it, written out again as the definition.
  private func scanning(_ bytes: [UInt8], _ tokens: [SpecialToken], _ matches: (Int) -> Bool) -> [Segment] {
    let sorted = tokens.filter { !$0.bytes.isEmpty }
    var segments: [Segment] = []
    var start = 0
    var i = 0
    outer: while i < bytes.count {
      for token in sorted where matches(token.id) && bytes[i...].starts(with: token.bytes) {
        let end = token.stripsLeft ? whitespaceStart(bytes, i, start) : i
        if start < end { segments.append(.ordinary(Array(bytes[start..<end]))) }
        segments.append(.special(token.id))
        i += token.bytes.count
        if token.stripsRight { while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x0A) { i += 1 } }
        start = i
        continue outer
      }
      i += 1
    }
    if start < bytes.count { segments.append(.ordinary(Array(bytes[start...]))) }
    return segments
  }

  /// The alphabet below has two whitespace scalars, both single bytes.
  private func whitespaceStart(_ bytes: [UInt8], _ i: Int, _ floor: Int) -> Int {
    var j = i
    while j > floor && (bytes[j - 1] == 0x20 || bytes[j - 1] == 0x0A) { j -= 1 }
    return j
  }

  private func trie(_ bytes: [UInt8], _ tokens: [SpecialToken], _ matches: (Int) -> Bool) -> [Segment] {
    var segments: [Segment] = []
    SpecialTokenTrie(tokens).forEachSegment(
      of: bytes, matches: matches, ordinary: { segments.append(.ordinary(Array($0))) }, special: { segments.append(.special($0)) })
    return segments
  }

  /// Random token sets over a small alphabet (so that tokens share prefixes, contain one another and
  /// repeat exactly), sorted longest first as the tokenizers sort them, with random strip flags and a
  /// random set of allowed ids; texts up to 200 bytes, some built from the tokens themselves.
  func testEqualsScanningEveryToken() {
    var r = RandomInput()
    let alphabet: [[UInt8]] = [[0x61], [0x62], [0x3C], [0x3E], [0x20], [0x0A], [0xC3, 0xA9]]
    for c in 0..<RandomInput.cases {
      var tokens: [SpecialToken] = []
      for id in 0..<r.int(0...12) {
        let bytes = (0..<r.int(0...5)).flatMap { _ in r.pick(alphabet) }
        let copy = r.int(0...5) == 0 && !tokens.isEmpty ? r.pick(tokens).bytes : bytes
        tokens.append(SpecialToken(bytes: copy, id: id, stripsLeft: r.int(0...3) == 0, stripsRight: r.int(0...3) == 0))
      }
      // Swift's sort is not promised stable; this order is total, as the tokenizers' effectively is.
      tokens.sort { ($0.bytes.count, -$0.id) > ($1.bytes.count, -$1.id) }
      let allowed = Set((0..<12).filter { _ in r.int(0...3) != 0 })
      var text: [UInt8] = []
      let length = r.int(0...200)
      while text.count < length {
        text += r.bool() || tokens.isEmpty ? r.pick(alphabet) : r.pick(tokens).bytes
      }
      let matches = { (id: Int) in allowed.contains(id) }
      XCTAssertEqual(trie(text, tokens, matches), scanning(text, tokens, matches), "case \(c): \(tokens.count) tokens, \(text.count) bytes")
    }
  }

  /// Thousands of tokens sharing a prefix, as Gemma 3's `<unused…>` pieces do: each tag is found,
  /// the longest one wins over its prefixes, and a near miss stays ordinary text.
  func testThousandsOfTokensSharingAFirstByte() {
    let tokens = (0..<6000).map { SpecialToken(bytes: Array("<unused\($0)>".utf8), id: $0) }
      .sorted { ($0.bytes.count, -$0.id) > ($1.bytes.count, -$1.id) }
    let trie = SpecialTokenTrie(tokens)
    let text = Array(String(repeating: "<td><unused12>x<unused5999><unused>", count: 3000).utf8)
    var specials = 0
    var ordinary = 0
    trie.forEachSegment(of: text, matches: { _ in true }, ordinary: { ordinary += $0.count }, special: { _ in specials += 1 })
    XCTAssertEqual(specials, 6000)
    XCTAssertEqual(ordinary, text.count - 3000 * ("<unused12>".utf8.count + "<unused5999>".utf8.count))
  }
}
