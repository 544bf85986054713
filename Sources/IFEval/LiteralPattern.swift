/// The regular expressions IFEval builds from kwargs (`re.search(keyword, …)`, `r"\s?" + spliter`),
/// for the patterns this scorer accepts: literal characters and `.` (any character but a newline).
/// `Instruction` refuses kwargs with other regex syntax, so these match as Python's `re` does.
struct LiteralPattern {
  let scalars: Scalars
  let ignoreCase: Bool

  /// Whether the pattern matches `text` starting at `i`; its match is always `scalars.count` long.
  func matches(_ text: Scalars, at i: Int) -> Bool {
    guard i >= 0, i + scalars.count <= text.count else { return false }
    for (k, p) in scalars.enumerated() {
      let c = text[i + k]
      if p == "." {
        if c == "\n" { return false }
      } else if ignoreCase ? !PythonText.equalIgnoringCase(c, p) : c != p {
        return false
      }
    }
    return true
  }

  /// `re.search`: whether it matches anywhere (an empty pattern matches).
  func occurs(in text: Scalars) -> Bool { firstMatch(in: text, from: 0) != nil }

  func firstMatch(in text: Scalars, from start: Int) -> Int? {
    guard scalars.count <= text.count else { return nil }
    var i = start
    while i + scalars.count <= text.count {
      if matches(text, at: i) { return i }
      i += 1
    }
    return nil
  }

  /// `len(re.findall(...))`: non-overlapping matches, left to right.
  func count(in text: Scalars) -> Int {
    if scalars.isEmpty { return text.count + 1 }
    var n = 0, i = 0
    while let m = firstMatch(in: text, from: i) {
      n += 1
      i = m + scalars.count
    }
    return n
  }
}
