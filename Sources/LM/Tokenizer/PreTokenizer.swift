/// Splits text into the pieces that BPE merges within, as SmolLM's tokenizer does:
/// every numeric scalar (`\p{N}`) is isolated first, then each remaining run is split by
/// the GPT-2 pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
///
/// The pattern is matched by hand, which is faster than a regex engine and makes the
/// whitespace look-ahead explicit: a whitespace run followed by a non-space keeps its last
/// scalar for the next piece, so that " word" stays one piece.
enum PreTokenizer {
  enum Kind { case letter, number, space, other }

  static func kind(_ s: Unicode.Scalar) -> Kind {
    if s.value < 128 {
      // ASCII fast path.
      let v = s.value
      if (65...90).contains(v) || (97...122).contains(v) { return .letter }
      if (48...57).contains(v) { return .number }
      if v == 32 || (9...13).contains(v) { return .space }
      return .other
    }
    let p = s.properties
    if p.isWhitespace { return .space }
    switch p.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    default: return .other
    }
  }

  /// The pieces of `text`, as ranges of its scalars.
  static func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
    var pieces: [Range<Int>] = []
    var start = 0
    for (i, s) in scalars.enumerated() where kind(s) == .number {
      if start < i { splitGPT2(scalars, start..<i, into: &pieces) }
      pieces.append(i..<(i + 1))
      start = i + 1
    }
    if start < scalars.count { splitGPT2(scalars, start..<scalars.count, into: &pieces) }
    return pieces
  }

  private static func splitGPT2(_ s: [Unicode.Scalar], _ range: Range<Int>, into pieces: inout [Range<Int>]) {
    let end = range.upperBound
    var i = range.lowerBound
    func run(from j: Int, while kindOK: (Kind) -> Bool) -> Int {
      var k = j
      while k < end && kindOK(kind(s[k])) { k += 1 }
      return k
    }
    while i < end {
      let c = s[i]
      if c == "'", let n = contractionLength(s, i, end) {
        pieces.append(i..<(i + n))
        i += n
        continue
      }
      let k = kind(c)
      let nextKind: Kind? = i + 1 < end ? kind(s[i + 1]) : nil
      // " ?X+" for X in letter, number, other: an optional leading space joins the run.
      let runKind: Kind? = k != .space ? k : (c == " " && nextKind != nil && nextKind != .space ? nextKind : nil)
      if let runKind {
        let first = k == .space ? i + 1 : i
        let j = run(from: first) { $0 == runKind }
        pieces.append(i..<j)
        i = j
        continue
      }
      // Whitespace: "\s+(?!\S)" leaves the last space to the next piece when a non-space follows.
      let j = run(from: i) { $0 == .space }
      if j < end && j - i > 1 {
        pieces.append(i..<(j - 1))
        i = j - 1
      } else {
        pieces.append(i..<j)
        i = j
      }
    }
  }

  private static func contractionLength(_ s: [Unicode.Scalar], _ i: Int, _ end: Int) -> Int? {
    guard i + 1 < end else { return nil }
    switch s[i + 1] {
    case "s", "t", "m", "d": return 2
    case "r" where i + 2 < end && s[i + 2] == "e": return 3
    case "v" where i + 2 < end && s[i + 2] == "e": return 3
    case "l" where i + 2 < end && s[i + 2] == "l": return 3
    default: return nil
    }
  }
}
