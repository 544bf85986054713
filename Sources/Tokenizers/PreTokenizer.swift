import ModelFiles

/// Splits text into the pieces that BPE merges within. Each case is one family's pattern,
/// matched by hand, which is faster than a regex engine and makes each alternative's
/// look-ahead explicit:
/// - `gpt2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
/// - `smollm`: every numeric scalar isolated first, then `gpt2` on the rest;
/// - `llama3`: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
///   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (Llama 3, tiktoken's cl100k family);
/// - `qwen2`: `llama3` with `\p{N}` one digit at a time (Qwen2, Qwen2.5, Qwen3).
public enum PreTokenizer: String, Codable, Sendable, CaseIterable {
  case gpt2, smollm, llama3, qwen2

  /// The regular expressions of `tokenizer.json` `Split` steps (and tiktoken patterns) that a
  /// case implements.
  static let llama3Pattern =
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
  static let qwen2Pattern =
    #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

  /// llama.cpp's `tokenizer.ggml.pre` values, each with its pre-tokenizer.
  static let ggufNames: [String: PreTokenizer] = [
    "gpt2": .gpt2, "smollm": .smollm, "llama-bpe": .llama3, "llama3": .llama3, "qwen2": .qwen2,
  ]

  /// The pieces of `scalars`, as ranges.
  func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
    switch self {
    case .smollm: return Self.splitSmolLM(scalars)
    case .gpt2:
      var pieces: [Range<Int>] = []
      Self.splitGPT2(scalars, 0..<scalars.count, into: &pieces)
      return pieces
    case .llama3: return Self.splitLlama3(scalars, maxDigits: 3)
    case .qwen2: return Self.splitLlama3(scalars, maxDigits: 1)
    }
  }

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

  /// SmolLM: numeric scalars isolated, GPT-2's pattern between them.
  private static func splitSmolLM(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
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
      i = whitespaceRun(i, run(from: i) { $0 == .space }, end: end, into: &pieces)
    }
  }

  private static func contractionLength(_ s: [Unicode.Scalar], _ i: Int, _ end: Int, ignoringCase: Bool = false) -> Int? {
    guard i + 1 < end else { return nil }
    // (?i) folds these letters to their capitals, and s also to U+017F (long s).
    func fold(_ c: Unicode.Scalar) -> Unicode.Scalar {
      guard ignoringCase else { return c }
      if c == "\u{17F}" { return "s" }
      return c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c
    }
    let next = fold(s[i + 1])
    let third: Unicode.Scalar? = i + 2 < end ? fold(s[i + 2]) : nil
    switch next {
    case "s", "t", "m", "d": return 2
    case "r" where third == "e": return 3
    case "v" where third == "e": return 3
    case "l" where third == "l": return 3
    default: return nil
    }
  }

  /// The whitespace run `i..<j` as `\s+(?!\S)|\s+`: followed by a non-space, its last scalar is
  /// left to the next piece (so " word" stays one piece). Returns where the next piece starts.
  private static func whitespaceRun(_ i: Int, _ j: Int, end: Int, into pieces: inout [Range<Int>]) -> Int {
    if j < end && j - i > 1 {
      pieces.append(i..<(j - 1))
      return j - 1
    }
    pieces.append(i..<j)
    return j
  }

  private static func isNewline(_ c: Unicode.Scalar) -> Bool { c == "\n" || c == "\r" }

  /// The Llama-3 pattern, alternatives tried in order at each position (see the type's doc).
  private static func splitLlama3(_ s: [Unicode.Scalar], maxDigits: Int) -> [Range<Int>] {
    var pieces: [Range<Int>] = []
    let end = s.count
    var i = 0
    func run(from j: Int, while ok: (Unicode.Scalar) -> Bool) -> Int {
      var k = j
      while k < end && ok(s[k]) { k += 1 }
      return k
    }
    while i < end {
      let c = s[i]
      let k = kind(c)
      let next: Kind? = i + 1 < end ? kind(s[i + 1]) : nil
      // (?i:'s|'t|'re|'ve|'m|'ll|'d)
      if c == "'", let n = contractionLength(s, i, end, ignoringCase: true) {
        pieces.append(i..<(i + n))
        i += n
        continue
      }
      // [^\r\n\p{L}\p{N}]?\p{L}+
      if k == .letter || (k != .number && !isNewline(c) && next == .letter) {
        let j = run(from: k == .letter ? i : i + 1) { kind($0) == .letter }
        pieces.append(i..<j)
        i = j
        continue
      }
      // \p{N}{1,maxDigits}
      if k == .number {
        var j = i
        while j < end && j - i < maxDigits && kind(s[j]) == .number { j += 1 }
        pieces.append(i..<j)
        i = j
        continue
      }
      //  ?[^\s\p{L}\p{N}]+[\r\n]*
      if k == .other || (c == " " && next == .other) {
        var j = run(from: k == .other ? i : i + 1) { kind($0) == .other }
        j = run(from: j, while: isNewline)
        pieces.append(i..<j)
        i = j
        continue
      }
      // Whitespace from here on: \s*[\r\n]+ ends at the run's last newline.
      let j = run(from: i) { kind($0) == .space }
      if let lastNewline = (i..<j).last(where: { isNewline(s[$0]) }) {
        pieces.append(i..<(lastNewline + 1))
        i = lastNewline + 1
        continue
      }
      // \s+(?!\S), else \s+.
      i = whitespaceRun(i, j, end: end, into: &pieces)
    }
    return pieces
  }
}
