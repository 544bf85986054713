/// Python `str` semantics over Unicode scalars, as IFEval's checkers (Python 3) see text.
///
/// A Python string is a sequence of code points, and IFEval's verdicts depend on exactly which
/// code points `strip()`, `lower()`, `isupper()`, `\s`, `\w` and `\b` take. Swift's `String`
/// works on grapheme clusters and compares by canonical equivalence, so the checkers work on
/// `[Unicode.Scalar]` and these functions reproduce CPython's definitions (Objects/unicodeobject.c,
/// Modules/_sre): where Swift's Unicode tables are newer than CPython's (Unicode 14 in Python 3.11),
/// characters assigned since then may differ.
public typealias Scalars = [Unicode.Scalar]

enum PythonText {
  /// `str.isspace()` and the regex class `\s` on a str pattern: bidirectional class WS, B or S,
  /// or category Zs (CPython's `_PyUnicode_IsWhitespace` table).
  static func isSpace(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
    default: false
    }
  }

  /// `\w` on a str pattern: `str.isalnum()` (letters, and every character with a numeric type) or `_`.
  static func isWord(_ c: Unicode.Scalar) -> Bool {
    if c == "_" { return true }
    if c.value < 0x80 {
      return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
    }
    let p = c.properties
    switch p.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
    default: return p.numericType != nil
    }
  }

  /// `\d` on a str pattern: a decimal digit of any script (`str.isdecimal()`).
  static func isDecimal(_ c: Unicode.Scalar) -> Bool {
    c.value < 0x80 ? (c >= "0" && c <= "9") : c.properties.numericType == .decimal
  }

  /// CPython's `Py_UNICODE_ISUPPER`, `ISLOWER` (the derived properties Uppercase and Lowercase)
  /// and `ISTITLE` (category Lt).
  static func isUpper(_ c: Unicode.Scalar) -> Bool { c.value < 0x80 ? (c >= "A" && c <= "Z") : c.properties.isUppercase }
  static func isLower(_ c: Unicode.Scalar) -> Bool { c.value < 0x80 ? (c >= "a" && c <= "z") : c.properties.isLowercase }
  static func isTitle(_ c: Unicode.Scalar) -> Bool { c.properties.generalCategory == .titlecaseLetter }

  /// `str.isupper()`: at least one cased character, and none lowercase or titlecase.
  static func isUpper(_ s: Scalars) -> Bool {
    var cased = false
    for c in s {
      if isLower(c) || isTitle(c) { return false }
      if isUpper(c) { cased = true }
    }
    return cased
  }

  /// `str.islower()`: at least one cased character, and none uppercase or titlecase.
  static func isLower(_ s: Scalars) -> Bool {
    var cased = false
    for c in s {
      if isUpper(c) || isTitle(c) { return false }
      if isLower(c) { cased = true }
    }
    return cased
  }

  /// `str.lower()`: the full lowercase mapping (İ becomes i + U+0307), with Python's final-sigma
  /// rule: Σ becomes ς after a cased letter and not before one (case-ignorable characters skipped).
  static func lower(_ s: Scalars) -> Scalars {
    var out = Scalars()
    out.reserveCapacity(s.count)
    for (i, c) in s.enumerated() {
      if c.value < 0x80 {
        out.append(c >= "A" && c <= "Z" ? Unicode.Scalar(c.value + 32)! : c)
      } else if c.value == 0x3A3 {
        out.append(isFinalSigma(s, i) ? "\u{3C2}" : "\u{3C3}")
      } else {
        out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
      }
    }
    return out
  }

  private static func isFinalSigma(_ s: Scalars, _ i: Int) -> Bool {
    var j = i - 1
    while j >= 0 && s[j].properties.isCaseIgnorable { j -= 1 }
    guard j >= 0 && s[j].properties.isCased else { return false }
    j = i + 1
    while j < s.count && s[j].properties.isCaseIgnorable { j += 1 }
    return j == s.count || !s[j].properties.isCased
  }

  /// The single-character lowercase `sre` uses to compare characters under IGNORECASE.
  static func simpleLower(_ c: Unicode.Scalar) -> Unicode.Scalar {
    if c.value < 0x80 { return c >= "A" && c <= "Z" ? Unicode.Scalar(c.value + 32)! : c }
    let m = c.properties.lowercaseMapping.unicodeScalars
    return m.count == 1 ? m.first! : c
  }

  /// Characters `sre` also treats as equal under IGNORECASE although their lowercases differ
  /// (Lib/re/_casefix.py): ſ and s, K (Kelvin) and k, µ and μ, and a few more.
  private static let caseFixes: [UInt32: UInt32] = [
    0x17F: 0x73, 0x212A: 0x6B, 0xB5: 0x3BC, 0x3C2: 0x3C3, 0x3D0: 0x3B2, 0x3D1: 0x3B8, 0x3D5: 0x3C6, 0x3D6: 0x3C0,
    0x3F0: 0x3BA, 0x3F1: 0x3C1, 0x3F5: 0x3B5, 0x1E9B: 0x1E61, 0x1FBE: 0x3B9, 0x345: 0x3B9, 0x390: 0x1FD3, 0x3B0: 0x1FE3,
    0xFB05: 0xFB06, 0x1C80: 0x432, 0x1C81: 0x434, 0x1C82: 0x43E, 0x1C83: 0x441, 0x1C84: 0x442, 0x1C85: 0x442,
    0x1C86: 0x44A, 0x1C87: 0x463, 0x1C88: 0xA64B, 0x1E9E: 0xDF, 0x212B: 0xE5, 0x2126: 0x3C9,
  ]

  /// Whether `sre` with IGNORECASE matches pattern character `p` against text character `c`.
  static func equalIgnoringCase(_ c: Unicode.Scalar, _ p: Unicode.Scalar) -> Bool {
    if c == p { return true }
    let a = simpleLower(c), b = simpleLower(p)
    if a == b { return true }
    let fa = caseFixes[a.value] ?? a.value, fb = caseFixes[b.value] ?? b.value
    return fa == fb
  }

  /// `str.strip()`, `lstrip()`, `rstrip()` without arguments (Python whitespace).
  static func strip(_ s: Scalars) -> Scalars { strip(s, where: isSpace) }
  static func strip(_ s: Scalars, where drop: (Unicode.Scalar) -> Bool) -> Scalars {
    var lo = 0, hi = s.count
    while lo < hi && drop(s[lo]) { lo += 1 }
    while hi > lo && drop(s[hi - 1]) { hi -= 1 }
    return Array(s[lo..<hi])
  }
  static func lstrip(_ s: Scalars, where drop: (Unicode.Scalar) -> Bool) -> Scalars {
    var lo = 0
    while lo < s.count && drop(s[lo]) { lo += 1 }
    return Array(s[lo...])
  }
  static func rstrip(_ s: Scalars, where drop: (Unicode.Scalar) -> Bool) -> Scalars {
    var hi = s.count
    while hi > 0 && drop(s[hi - 1]) { hi -= 1 }
    return Array(s[..<hi])
  }

  /// `str.split(sep)` with a non-empty separator: every non-overlapping occurrence, left to right.
  static func split(_ s: Scalars, separator sep: Scalars) -> [Scalars] {
    var parts: [Scalars] = []
    var start = 0, i = 0
    while i + sep.count <= s.count {
      if s[i..<(i + sep.count)].elementsEqual(sep) {
        parts.append(Array(s[start..<i]))
        i += sep.count
        start = i
      } else {
        i += 1
      }
    }
    parts.append(Array(s[start...]))
    return parts
  }

  /// `str.split()` without arguments: runs of Python whitespace separate, none empty.
  static func splitWhitespace(_ s: Scalars) -> [Scalars] {
    var parts: [Scalars] = []
    var current = Scalars()
    for c in s {
      if isSpace(c) {
        if !current.isEmpty { parts.append(current); current = [] }
      } else {
        current.append(c)
      }
    }
    if !current.isEmpty { parts.append(current) }
    return parts
  }

  static func hasPrefix(_ s: Scalars, _ p: Scalars) -> Bool { s.count >= p.count && s[..<p.count].elementsEqual(p) }
  static func hasSuffix(_ s: Scalars, _ p: Scalars) -> Bool { s.count >= p.count && s[(s.count - p.count)...].elementsEqual(p) }
  static func removePrefix(_ s: Scalars, _ p: Scalars) -> Scalars { hasPrefix(s, p) ? Array(s[p.count...]) : s }
  static func removeSuffix(_ s: Scalars, _ p: Scalars) -> Scalars {
    hasSuffix(s, p) && !p.isEmpty ? Array(s[..<(s.count - p.count)]) : s
  }

  /// `sub in s` for str.
  static func contains(_ s: Scalars, _ sub: Scalars) -> Bool { firstIndex(of: sub, in: s, from: 0) != nil }

  static func firstIndex(of sub: Scalars, in s: Scalars, from start: Int) -> Int? {
    if sub.isEmpty { return start <= s.count ? start : nil }
    guard s.count >= sub.count, start <= s.count - sub.count else { return nil }
    for i in start...(s.count - sub.count) where s[i] == sub[0] && s[i..<(i + sub.count)].elementsEqual(sub) { return i }
    return nil
  }

  /// `re.sub` with a hand-written matcher: at each position, left to right, `match` gives the length
  /// of a match there and its replacement; the scan continues after the match.
  static func substitute(_ s: Scalars, _ match: (Scalars, Int) -> (Int, Scalars)?) -> Scalars {
    var out = Scalars()
    out.reserveCapacity(s.count)
    var i = 0
    while i < s.count {
      if let (n, replacement) = match(s, i), n > 0 {
        out += replacement
        i += n
      } else {
        out.append(s[i])
        i += 1
      }
    }
    return out
  }

  /// The number of `\w+` runs: nltk's `RegexpTokenizer(r"\w+")`, IFEval's word count.
  static func wordCount(_ s: Scalars) -> Int {
    var count = 0, inWord = false
    for c in s {
      let w = isWord(c)
      if w && !inWord { count += 1 }
      inWord = w
    }
    return count
  }
}

extension String {
  var scalars: Scalars { Array(unicodeScalars) }
}

extension Array where Element == Unicode.Scalar {
  var string: String {
    var s = String.UnicodeScalarView()
    s.append(contentsOf: self)
    return String(s)
  }
}
