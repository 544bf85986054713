/// Whether Python's `json.loads` accepts a text: the question IFEval's `json_format` check asks.
///
/// Python's decoder (the C scanner) differs from strict JSON, and from Foundation's parser, in ways
/// a model's answer can hit: it accepts `NaN`, `Infinity` and `-Infinity`, any value at the top
/// level, duplicate keys and escaped lone surrogates; it allows only ` \t\n\r` as whitespace and
/// refuses raw control characters (below U+0020) inside strings (`strict=True`). Numbers are
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?` in ASCII digits.
///
/// Python stops at about 1,000 levels of nesting with a RecursionError (which IFEval does not catch);
/// this parser is iterative and calls anything nested deeper than `maxDepth` not JSON, so that no
/// input can exhaust the stack.
enum PythonJSON {
  static let maxDepth = 990

  static func isValid(_ s: Scalars) -> Bool {
    var p = Parser(s: s)
    p.skipWhitespace()
    guard p.value() else { return false }
    p.skipWhitespace()
    return p.i == s.count
  }

  private struct Parser {
    let s: Scalars
    var i = 0

    init(s: Scalars) { self.s = s }

    mutating func skipWhitespace() {
      while i < s.count, s[i] == " " || s[i] == "\t" || s[i] == "\n" || s[i] == "\r" { i += 1 }
    }

    mutating func literal(_ word: String) -> Bool {
      var k = i
      for c in word.unicodeScalars {
        guard k < s.count, s[k] == c else { return false }
        k += 1
      }
      i = k
      return true
    }

    func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }

    /// One value; containers are walked with an explicit stack.
    mutating func value() -> Bool {
      // Each open container: true for an object, false for an array.
      var stack: [Bool] = []
      while true {
        // Parse one value start.
        guard let c = at(i) else { return false }
        var opened = false
        switch c {
        case "{":
          i += 1
          skipWhitespace()
          if at(i) == "}" {
            i += 1
          } else {
            guard stack.count < PythonJSON.maxDepth, key() else { return false }
            stack.append(true)
            opened = true
          }
        case "[":
          i += 1
          skipWhitespace()
          if at(i) == "]" {
            i += 1
          } else {
            guard stack.count < PythonJSON.maxDepth else { return false }
            stack.append(false)
            opened = true
          }
        case "\"":
          i += 1
          guard string() else { return false }
        case "n": guard literal("null") else { return false }
        case "t": guard literal("true") else { return false }
        case "f": guard literal("false") else { return false }
        case "N": guard literal("NaN") else { return false }
        case "I": guard literal("Infinity") else { return false }
        case "-":
          if at(i + 1) == "I" {
            i += 1
            guard literal("Infinity") else { return false }
          } else {
            guard number() else { return false }
          }
        default:
          guard number() else { return false }
        }
        if opened { continue }
        // After a value: close containers or move to the next element.
        while true {
          guard let top = stack.last else { return true }
          skipWhitespace()
          guard let d = at(i) else { return false }
          if d == "," {
            i += 1
            skipWhitespace()
            if top { guard key() else { return false } }
            break
          }
          guard d == (top ? "}" : "]") else { return false }
          i += 1
          stack.removeLast()
        }
      }
    }

    /// `"key"` `:` and the whitespace before the value.
    mutating func key() -> Bool {
      guard at(i) == "\"" else { return false }
      i += 1
      guard string() else { return false }
      skipWhitespace()
      guard at(i) == ":" else { return false }
      i += 1
      skipWhitespace()
      return true
    }

    /// The rest of a string after its opening quote.
    mutating func string() -> Bool {
      while let c = at(i) {
        i += 1
        if c == "\"" { return true }
        if c.value < 0x20 { return false }
        if c == "\\" {
          guard let e = at(i) else { return false }
          i += 1
          switch e {
          case "\"", "\\", "/", "b", "f", "n", "r", "t": continue
          case "u":
            for _ in 0..<4 {
              guard let h = at(i), h.properties.isASCIIHexDigit else { return false }
              i += 1
            }
          default: return false
          }
        }
      }
      return false
    }

    func isDigit(_ k: Int) -> Bool { if let c = at(k) { c >= "0" && c <= "9" } else { false } }

    mutating func number() -> Bool {
      if at(i) == "-" { i += 1 }
      if at(i) == "0" {
        i += 1
      } else if isDigit(i) {
        while isDigit(i) { i += 1 }
      } else {
        return false
      }
      // A fraction or exponent that does not complete is left for the caller, as Python's
      // scanner does: "1." then fails as extra data.
      if at(i) == ".", isDigit(i + 1) {
        i += 1
        while isDigit(i) { i += 1 }
      }
      if at(i) == "e" || at(i) == "E" {
        var k = i + 1
        if at(k) == "+" || at(k) == "-" { k += 1 }
        if isDigit(k) {
          i = k
          while isDigit(i) { i += 1 }
        }
      }
      return true
    }
  }
}
