import Foundation
import LM

/// One GSM8K problem (openai/grade-school-math): the question and the final number of its worked
/// solution (the text after `####`).
public struct GSM8KProblem: Sendable, Equatable {
  public var question: String
  public var target: String

  public init(question: String, target: String) {
    self.question = question
    self.target = target
  }
}

/// GSM8K as lm-eval scores it with its `flexible-extract` filter: the answer is the last number-like
/// match of `(-?[$0-9.,]{2,})|(-?[0-9]+)` in the response, and it is right when it equals the target
/// after both lose `,`, `$`, everything up to `#### ` and one trailing `.`, ignoring case
/// (`exact_match` with lm-eval's `regexes_to_ignore`). Python's `[0-9]` is ASCII only, and so is this.
public enum GSM8K {
  /// Reads test.jsonl: `question` and `answer` (a worked solution ending in `#### N`).
  public static func load(_ data: Data, file: String) throws -> [GSM8KProblem] {
    struct Line: Decodable {
      var question: String
      var answer: String
    }
    var problems: [GSM8KProblem] = []
    for line in JSONLines.decode(Line.self, from: String(decoding: data, as: UTF8.self)) {
      guard case .success(let l) = line.value else {
        throw CompareError.invalid("\(file):\(line.number): needs string fields question and answer")
      }
      let (question, answer) = (l.question, l.answer)
      guard let marker = answer.range(of: "####", options: .backwards) else {
        throw CompareError.invalid("\(file):\(line.number): the answer has no '#### N' final number")
      }
      problems.append(GSM8KProblem(question: question, target: answer[marker.upperBound...].trimmingCharacters(in: .whitespaces)))
    }
    guard !problems.isEmpty else { throw CompareError.invalid("\(file) holds no GSM8K problem") }
    return problems
  }

  /// The flexible-extract answer of `response`, or nil where no number-like text occurs (lm-eval
  /// then scores "[invalid]", which never matches).
  public static func extract(_ response: String) -> String? {
    let s = Array(response.unicodeScalars)
    func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }
    func inClass(_ c: Unicode.Scalar) -> Bool { isDigit(c) || c == "$" || c == "." || c == "," }
    var last: Range<Int>?
    var i = 0
    while i < s.count {
      // Alternative 1, -?[$0-9.,]{2,}: the class run is greedy; with the sign it must still be 2 long.
      let signed = s[i] == "-" ? 1 : 0
      var end = i + signed
      while end < s.count && inClass(s[end]) { end += 1 }
      if end - (i + signed) >= 2 {
        last = i..<end
        i = end
        continue
      }
      // Without the sign: '-' is not in the class, so alternative 1 fails at i when signed. Then
      // alternative 2, -?[0-9]+.
      end = i + signed
      while end < s.count && isDigit(s[end]) { end += 1 }
      if end > i + signed {
        last = i..<end
        i = end
        continue
      }
      i += 1
    }
    guard let last else { return nil }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: s[last])
    return String(out).trimmingCharacters(in: .whitespaces)
  }

  /// `text` with lm-eval's `regexes_to_ignore` removed: `,`, `$`, `(?s).*#### `, `\.$`, lowercased.
  public static func normalise(_ text: String) -> String {
    var t = text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "$", with: "")
    if let marker = t.range(of: "#### ", options: .backwards) { t = String(t[marker.upperBound...]) }
    // Python's `\.$` also matches before a final newline.
    if t.hasSuffix(".") {
      t.removeLast()
    } else if t.hasSuffix(".\n") {
      t = String(t.dropLast(2)) + "\n"
    }
    return t.lowercased()
  }

  /// A generated answer as lm-eval keeps it: cut before the first `Question:` (gsm8k.yaml's
  /// `until`; the model has started a new problem).
  public static func truncate(_ response: String) -> String {
    guard let r = response.range(of: "Question:") else { return response }
    return String(response[..<r.lowerBound])
  }

  /// Whether `response` answers the problem whose final number is `target` (the number, or the
  /// whole worked answer: both normalise to the text after `#### `).
  public static func isCorrect(_ response: String, target: String) -> Bool {
    guard let answer = extract(response) else { return false }
    return normalise(answer) == normalise(target)
  }
}
