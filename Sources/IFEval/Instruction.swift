/// One IFEval instruction with its kwargs checked and typed: what `build_description(**kwargs)`
/// would set, except that where Google's code draws a missing or falsy kwarg at random
/// (`num_bullets` absent, 0 or negative, say), this refuses it, so a verdict never depends on a
/// random draw.
public struct Instruction: Sendable, Equatable {
  public let id: InstructionID
  let counts: [String: Int]
  let texts: [String: Scalars]
  let words: [String: [Scalars]]
  let relations: [String: Relation]

  /// Null kwargs are ignored, as lm-eval drops them.
  public init(id rawID: String, kwargs: [String: JSONValue]) throws {
    guard let id = InstructionID(rawValue: rawID) else { throw IFEvalError.unknownInstruction(rawID) }
    self.id = id
    var counts: [String: Int] = [:], texts: [String: Scalars] = [:], words: [String: [Scalars]] = [:]
    var relations: [String: Relation] = [:]
    let known = Set(id.parameters.map(\.name))
    for name in kwargs.keys.sorted() where !known.contains(name) && kwargs[name] != .null {
      throw IFEvalError.unexpectedArgument(id, name)
    }
    for (name, kind) in id.parameters {
      guard let value = kwargs[name], value != .null else {
        throw IFEvalError.missingArgument(id, name, kind.description)
      }
      let wrong = IFEvalError.mistypedArgument(id, name, kind.description)
      switch kind {
      case .count:
        // Python would read true as 1; a count must be a number.
        guard case .number(let d) = value, d.isFinite, d == d.rounded(), d >= 0, d < 1e15 else { throw wrong }
        counts[name] = Int(d)
      case .text, .letter:
        guard case .string(let s) = value, !s.isEmpty else { throw wrong }
        var t = s.scalars
        // Google's code strips these kwargs (and lowercases the letter and the first word).
        if ["keyword", "end_phrase", "postscript_marker", "section_spliter", "letter"].contains(name) {
          t = PythonText.strip(t)
        }
        if kind == .letter {
          guard t.count == 1, let c = t.first, c.isASCII, c.properties.isAlphabetic else { throw wrong }
          t = PythonText.lower(t)
        }
        if name == "first_word" { t = PythonText.lower(t) }
        texts[name] = t
      case .words:
        guard case .array(let list) = value, !list.isEmpty else { throw wrong }
        var out: [Scalars] = []
        for item in list {
          guard case .string(let s) = item, !s.isEmpty else { throw wrong }
          out.append(s.scalars)
        }
        words[name] = out
      case .relation:
        guard case .string(let s) = value, let r = Relation(rawValue: s) else { throw wrong }
        relations[name] = r
      }
    }
    if id == .nthParagraphFirstWord, let nth = counts["nth_paragraph"], let total = counts["num_paragraphs"], nth < 1 || nth > total {
      throw IFEvalError.mistypedArgument(id, "nth_paragraph", "between 1 and num_paragraphs (\(total))")
    }
    for (name, patterns) in words.map({ ($0.key, $0.value) }) + texts.filter({ Self.patternArguments.contains($0.key) }).map({ ($0.key, [$0.value]) }) {
      for p in patterns where p.contains(where: { Self.metacharacters.contains($0) }) {
        if name == "postscript_marker" && (p == "P.S.".scalars || p == "P.P.S".scalars) { continue }
        throw IFEvalError.unsupportedPattern(id, name, p.string)
      }
    }
    self.counts = counts
    self.texts = texts
    self.words = words
    self.relations = relations
  }

  /// Kwargs that Google's checkers put into a regular expression.
  static let patternArguments: Set<String> = ["keyword", "postscript_marker", "section_spliter"]
  /// Regular-expression syntax other than '.', which the checkers' literal patterns support.
  static let metacharacters: Set<Unicode.Scalar> = ["\\", "^", "$", "*", "+", "?", "{", "}", "[", "]", "(", ")", "|"]

  public static func == (a: Instruction, b: Instruction) -> Bool {
    a.id == b.id && a.counts == b.counts && a.texts == b.texts && a.words == b.words && a.relations == b.relations
  }
}
