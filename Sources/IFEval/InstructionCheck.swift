/// Each instruction's `check_following`, as Google's instructions.py defines it. The regular
/// expressions there are matched by hand, each written out in a comment; `\s`, `\w`, `\d` are
/// Python's Unicode classes (PythonText), `.` excludes only "\n".
extension Instruction {
  /// Whether `response` follows the instruction. `language` identifies a text's language as
  /// langdetect does (nil where it finds no features: IFEval then counts the instruction followed).
  public func isFollowed(by response: Scalars, prompt: Scalars, language: (Scalars) -> String?) -> Bool {
    let v = response
    switch id {
    case .keywordsExistence:
      // all(re.search(keyword, value, re.IGNORECASE))
      return words["keywords", default: []].allSatisfy { LiteralPattern(scalars: $0, ignoreCase: true).occurs(in: v) }
    case .keywordsFrequency:
      // len(re.findall(keyword, value, re.IGNORECASE)) compared with frequency
      let n = LiteralPattern(scalars: texts["keyword"]!, ignoreCase: true).count(in: v)
      return relations["relation"]!.holds(n, counts["frequency"]!)
    case .keywordsForbiddenWords:
      // no re.search(r"\b" + word + r"\b", value, re.IGNORECASE)
      return !words["forbidden_words", default: []].contains { Self.occursAsWord($0, in: v) }
    case .keywordsLetterFrequency:
      // collections.Counter(value.lower())[letter]
      let letter = texts["letter"]![0]
      let n = PythonText.lower(v).reduce(0) { $0 + ($1 == letter ? 1 : 0) }
      return relations["let_relation"]!.holds(n, counts["let_frequency"]!)
    case .responseLanguage:
      // langdetect.detect(value) == language; True when langdetect finds no features
      guard let detected = language(v) else { return true }
      return detected.unicodeScalars.elementsEqual(texts["language"]!)
    case .numberSentences:
      return relations["relation"]!.holds(SentenceSplitter.count(v), counts["num_sentences"]!)
    case .numberParagraphs:
      return Self.paragraphsSeparatedByRules(v) == counts["num_paragraphs"]!
    case .numberWords:
      return relations["relation"]!.holds(PythonText.wordCount(v), counts["num_words"]!)
    case .nthParagraphFirstWord:
      return Self.nthParagraphStarts(
        v, with: texts["first_word"]!, nth: counts["nth_paragraph"]!, paragraphs: counts["num_paragraphs"]!)
    case .numberPlaceholders:
      return Self.placeholders(v) >= counts["num_placeholders"]!
    case .postscript:
      return Self.hasPostscript(PythonText.lower(v), marker: texts["postscript_marker"]!)
    case .numberBulletLists:
      return Self.bulletLines(v) == counts["num_bullets"]!
    case .constrainedResponse:
      let s = PythonText.strip(v)
      return Self.constrainedOptions.contains { PythonText.contains(s, $0) }
    case .numberHighlightedSections:
      return Self.highlights(v) >= counts["num_highlights"]!
    case .multipleSections:
      return Self.sectionSplits(v, splitter: texts["section_spliter"]!) >= counts["num_sections"]!
    case .jsonFormat:
      var s = PythonText.strip(v)
      for fence in ["```json", "```Json", "```JSON", "```"] { s = PythonText.removePrefix(s, fence.scalars) }
      s = PythonText.strip(PythonText.removeSuffix(s, "```".scalars))
      return PythonJSON.isValid(s)
    case .title:
      return Self.hasTitle(v)
    case .twoResponses:
      return Self.isTwoResponses(v)
    case .repeatPrompt:
      let text = PythonText.lower(PythonText.strip(v))
      return PythonText.hasPrefix(text, PythonText.lower(PythonText.strip(texts["prompt_to_repeat"]!)))
    case .endChecker:
      let text = PythonText.lower(PythonText.strip(PythonText.strip(v), where: { $0 == "\"" }))
      return PythonText.hasSuffix(text, PythonText.lower(PythonText.strip(texts["end_phrase"]!)))
    case .capitalWordFrequency:
      let n = WordTokenizer.tokens(v).filter(PythonText.isUpper).count
      return relations["capital_relation"]!.holds(n, counts["capital_frequency"]!)
    case .englishCapital:
      // value.isupper() and langdetect.detect(value) == "en"
      guard PythonText.isUpper(v) else { return false }
      return language(v).map { $0 == "en" } ?? true
    case .englishLowercase:
      guard PythonText.isLower(v) else { return false }
      return language(v).map { $0 == "en" } ?? true
    case .noComma:
      return !v.contains(",")
    case .quotation:
      let s = PythonText.strip(v)
      return s.count > 1 && s.first == "\"" && s.last == "\""
    }
  }

  static let constrainedOptions = ["My answer is yes.", "My answer is no.", "My answer is maybe."].map(\.scalars)

  /// `re.search(r"\b" + word + r"\b", value, flags=re.IGNORECASE)`.
  static func occursAsWord(_ word: Scalars, in v: Scalars) -> Bool {
    let p = LiteralPattern(scalars: word, ignoreCase: true)
    func boundary(_ i: Int) -> Bool {
      let before = i > 0 && PythonText.isWord(v[i - 1])
      let after = i < v.count && PythonText.isWord(v[i])
      return before != after
    }
    var i = 0
    while let m = p.firstMatch(in: v, from: i) {
      if boundary(m) && boundary(m + word.count) { return true }
      i = m + 1
    }
    return false
  }

  /// `len(re.split(r"\s?\*\*\*\s?", value))`, less empty first and last parts; -1 (never equal to a
  /// count) where a middle part is empty, which Google's checker calls not following.
  static func paragraphsSeparatedByRules(_ v: Scalars) -> Int {
    func rule(at k: Int) -> Bool { k + 2 < v.count && v[k] == "*" && v[k + 1] == "*" && v[k + 2] == "*" }
    var parts: [Scalars] = []
    var start = 0, i = 0
    while i < v.count {
      // `\s?` is greedy: a whitespace character before the rule belongs to the match.
      let rulePosition = PythonText.isSpace(v[i]) && rule(at: i + 1) ? i + 1 : i
      guard rule(at: rulePosition) else {
        i += 1
        continue
      }
      var end = rulePosition + 3
      if end < v.count && PythonText.isSpace(v[end]) { end += 1 }
      parts.append(Array(v[start..<i]))
      start = end
      i = end
    }
    parts.append(Array(v[start...]))
    var n = parts.count
    for (k, p) in parts.enumerated() where PythonText.strip(p).isEmpty {
      if k == 0 || k == parts.count - 1 { n -= 1 } else { return -1 }
    }
    return n
  }

  /// ParagraphFirstWordCheck: paragraphs split on "\n\n"; the nth's first word, less leading quotes
  /// and cut at the first of . , ? ! ' ", lowercased.
  static func nthParagraphStarts(_ v: Scalars, with firstWord: Scalars, nth: Int, paragraphs expected: Int) -> Bool {
    let parts = PythonText.split(v, separator: ["\n", "\n"])
    let count = parts.count - parts.filter { PythonText.strip($0).isEmpty }.count
    guard nth <= count else { return false }
    let paragraph = PythonText.strip(parts[nth - 1])
    guard let first = PythonText.splitWhitespace(paragraph).first else { return false }
    var word = PythonText.lstrip(PythonText.lstrip(PythonText.strip(first), where: { $0 == "'" }), where: { $0 == "\"" })
    if let cut = word.firstIndex(where: { [".", ",", "?", "!", "'", "\""].contains($0) }) { word = Array(word[..<cut]) }
    // Google lowercases letter by letter, so a final sigma stays σ.
    return count == expected && word.flatMap { PythonText.lower([$0]) } == firstWord
  }

  /// `len(re.findall(r"\[.*?\]", value))`.
  static func placeholders(_ v: Scalars) -> Int {
    var n = 0, i = 0
    while i < v.count {
      guard v[i] == "[" else {
        i += 1
        continue
      }
      var j = i + 1
      while j < v.count && v[j] != "]" && v[j] != "\n" { j += 1 }
      if j < v.count && v[j] == "]" {
        n += 1
        i = j + 1
      } else {
        // Every "[" before j meets the same newline (or end) first: none of them matches.
        i = max(j, i + 1)
      }
    }
    return n
  }

  /// PostscriptChecker on the lowercased response: `\s*p\.\s?p\.\s?s.*$` for "P.P.S",
  /// `\s*p\.\s?s\..*$` for "P.S.", else `\s*` + the lowercased marker + `.*$` (multiline). The
  /// leading `\s*` and trailing `.*$` always match, so this is a search for the middle.
  static func hasPostscript(_ v: Scalars, marker: Scalars) -> Bool {
    // Each element: a literal character, or nil for an optional whitespace character.
    let pieces: [Unicode.Scalar?]
    if marker == "P.P.S".scalars {
      pieces = ["p", ".", nil, "p", ".", nil, "s"]
    } else if marker == "P.S.".scalars {
      pieces = ["p", ".", nil, "s", "."]
    } else {
      return LiteralPattern(scalars: PythonText.lower(marker), ignoreCase: false).occurs(in: v)
    }
    func match(_ i: Int, _ k: Int) -> Bool {
      if k == pieces.count { return true }
      guard let c = pieces[k] else {
        return (i < v.count && PythonText.isSpace(v[i]) && match(i + 1, k + 1)) || match(i, k + 1)
      }
      guard i < v.count else { return false }
      // In the fixed patterns "." is escaped: a literal full stop.
      return v[i] == c && match(i + 1, k + 1)
    }
    return (0..<max(v.count, 1)).contains { match($0, 0) }
  }

  /// BulletListChecker: `^\s*\*[^\*].*$` plus `^\s*-.*$`, each counted with re.findall, multiline.
  static func bulletLines(_ v: Scalars) -> Int {
    // `^` (multiline) matches at the start and after each "\n".
    let lineStarts = [0] + v.indices.filter { v[$0] == "\n" }.map { $0 + 1 }
    // The first non-whitespace position at or after each index, so that runs of blank lines are
    // crossed once, not once per line start.
    var nextSolid = [Int](repeating: v.count, count: v.count + 1)
    for k in stride(from: v.count - 1, through: 0, by: -1) { nextSolid[k] = PythonText.isSpace(v[k]) ? nextSolid[k + 1] : k }
    func count(_ bullet: Unicode.Scalar, needsNonStar: Bool) -> Int {
      var n = 0, resume = 0
      for p in lineStarts where p >= resume {
        // `\s*` may run over newlines; fewer spaces never help, so the greedy run decides.
        let j = nextSolid[p]
        guard j < v.count, v[j] == bullet else { continue }
        var end = j + 1
        if needsNonStar {
          // `[^\*]` takes any other character, a newline too.
          guard end < v.count, v[end] != "*" else { continue }
          end += 1
        }
        while end < v.count && v[end] != "\n" { end += 1 }
        n += 1
        resume = end
      }
      return n
    }
    return count("*", needsNonStar: true) + count("-", needsNonStar: false)
  }

  /// HighlightSectionChecker: `\*[^\n\*]*\*` matches whose inside is not blank, plus
  /// `\*\*[^\n\*]*\*\*` matches whose inside is not blank.
  static func highlights(_ v: Scalars) -> Int {
    func scan(double: Bool) -> Int {
      let d = double ? 2 : 1
      var n = 0, i = 0
      while i < v.count {
        if i + d <= v.count && v[i..<(i + d)].allSatisfy({ $0 == "*" }) {
          var j = i + d
          while j < v.count && v[j] != "\n" && v[j] != "*" { j += 1 }
          if j + d <= v.count && v[j..<(j + d)].allSatisfy({ $0 == "*" }) {
            if !PythonText.strip(Array(v[(i + d)..<j])).isEmpty { n += 1 }
            i = j + d
            continue
          }
        }
        i += 1
      }
      return n
    }
    return scan(double: false) + scan(double: true)
  }

  /// SectionChecker: `len(re.split(r"\s?" + splitter + r"\s?\d+\s?", value)) - 1`, the number of
  /// matches.
  static func sectionSplits(_ v: Scalars, splitter: Scalars) -> Int {
    let p = LiteralPattern(scalars: splitter, ignoreCase: false)
    var n = 0, i = 0
    while i < v.count {
      var k = i
      if PythonText.isSpace(v[k]) && p.matches(v, at: k + 1) { k += 1 }
      if p.matches(v, at: k) {
        var j = k + splitter.count
        if j < v.count && PythonText.isSpace(v[j]) && j + 1 < v.count && PythonText.isDecimal(v[j + 1]) { j += 1 }
        if j < v.count && PythonText.isDecimal(v[j]) {
          while j < v.count && PythonText.isDecimal(v[j]) { j += 1 }
          if j < v.count && PythonText.isSpace(v[j]) { j += 1 }
          n += 1
          i = max(j, i + 1)
          continue
        }
      }
      i += 1
    }
    return n
  }

  /// TitleChecker: some `<<[^\n]+>>` match (greedy: to the last ">>" on its line) whose text, less
  /// leading '<' and trailing '>' and whitespace, is not empty.
  static func hasTitle(_ v: Scalars) -> Bool {
    var i = 0
    while i + 1 < v.count {
      guard v[i] == "<" && v[i + 1] == "<" else {
        i += 1
        continue
      }
      var lineEnd = i + 2
      while lineEnd < v.count && v[lineEnd] != "\n" { lineEnd += 1 }
      // The greedy `[^\n]+` backs off to the line's last ">>"; every "<<" of the line meets it.
      var last = lineEnd - 2
      while last >= i + 3 && !(v[last] == ">" && v[last + 1] == ">") { last -= 1 }
      guard last >= i + 3 else {
        // No ">>" far enough on: no later "<<" of this line matches either.
        i = lineEnd
        continue
      }
      let title = PythonText.strip(
        PythonText.rstrip(PythonText.lstrip(Array(v[i..<(last + 2)]), where: { $0 == "<" }), where: { $0 == ">" }))
      if !title.isEmpty { return true }
      i = last + 2
    }
    return false
  }

  /// TwoResponsesChecker: exactly two non-blank parts between "******", different after strip, and
  /// no blank part in the middle.
  static func isTwoResponses(_ v: Scalars) -> Bool {
    let parts = PythonText.split(v, separator: Array(repeating: "*", count: 6))
    var valid: [Scalars] = []
    for (k, p) in parts.enumerated() {
      if PythonText.strip(p).isEmpty {
        if k != 0 && k != parts.count - 1 { return false }
      } else {
        valid.append(p)
      }
    }
    return valid.count == 2 && PythonText.strip(valid[0]) != PythonText.strip(valid[1])
  }
}
