import Foundation

/// langdetect 1.0.9 (Shuyo Nakatani's language-detection, ported to Python by Michal Danilák;
/// Apache-2.0), as IFEval calls it: `langdetect.detect(text)` with `DetectorFactory.seed = 0`.
///
/// The text loses URLs and e-mail addresses, Vietnamese letters with combining marks are composed,
/// and (where non-Latin characters outnumber Latin ones two to one) Latin letters are dropped.
/// Character 1-, 2- and 3-grams, after langdetect's normalisation (Latin-1 punctuation to space,
/// Hiragana, Katakana, Hangul and each CJK class to one representative), are drawn at random;
/// each draw multiplies every language's probability by `α/10⁴ + P(gram | language)`, with
/// α = 0.5 + 0.05·N(0,1), renormalising every 5 draws until one language passes 0.99999 or 1,000
/// draws; seven such trials are averaged, and the most probable language above 0.1 is the answer.
/// The profiles and messages.properties are langdetect's own (Resources/langdetect).
///
/// Differences from Python that can change a verdict, all measured by IFEvalReferenceTests:
/// langdetect reads its profiles in `os.listdir` order, which varies between file systems; this
/// uses sorted order (and so did the reference run). Python 3.12's `sum()` compensates rounding
/// where 3.11's did not; this follows 3.11.
public final class LanguageDetector: Sendable {
  let languages: [String]
  /// Each n-gram's probability in each language, in `languages` order.
  let probabilities: [Scalars: [Double]]
  let latin1Excluded: Set<Unicode.Scalar>
  let cjkMap: [Unicode.Scalar: Unicode.Scalar]
  let vietnameseLetters: Scalars
  let vietnameseMarks: Scalars
  let vietnameseComposed: [Scalars]

  /// The profiles shipped with the package, read once per process (2.3 MB of JSON).
  public static func bundled() throws -> LanguageDetector { try shared.get() }

  private static let shared = Result<LanguageDetector, Error> {
    guard let url = Bundle.module.url(forResource: "langdetect", withExtension: nil) else {
      throw IFEvalError.malformedLine("the langdetect profiles are missing from this build (Resources/langdetect)")
    }
    return try LanguageDetector(directory: url)
  }

  public init(directory: URL) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
      .filter { !$0.contains(".") }.sorted()  // profiles are named by language code (en, zh-cn), without an extension
    struct Profile: Decodable {
      let name: String
      let freq: [String: Int]
      let n_words: [Int]
    }
    var langs: [String] = []
    var table: [Scalars: [Double]] = [:]
    for (index, file) in names.enumerated() {
      let p = try JSONDecoder().decode(Profile.self, from: Data(contentsOf: directory.appendingPathComponent(file)))
      langs.append(p.name)
      for (gram, count) in p.freq {
        let g = gram.scalars
        guard (1...3).contains(g.count), p.n_words.count == 3, p.n_words[g.count - 1] > 0 else { continue }
        table[g, default: Array(repeating: 0, count: names.count)][index] = Double(count) / Double(p.n_words[g.count - 1])
      }
    }
    languages = langs
    probabilities = table
    let messages = try Self.readMessages(directory.appendingPathComponent("messages.properties"))
    latin1Excluded = Set(messages["NGram.LATIN1_EXCLUDE", default: []])
    var cjk: [Unicode.Scalar: Unicode.Scalar] = [:]
    for (key, chars) in messages where key.hasPrefix("NGram.KANJI_") {
      guard let first = chars.first else { continue }
      for c in chars { cjk[c] = first }
    }
    cjkMap = cjk
    vietnameseLetters = messages["TO_NORMALIZE_VI_CHARS", default: []]
    vietnameseMarks = messages["DMARK_CLASS", default: []]
    vietnameseComposed = ["0300", "0301", "0303", "0309", "0323"].map { messages["NORMALIZED_VI_CHARS_\($0)", default: []] }
  }

  /// messages.properties: `key=value` lines with `\uXXXX` escapes.
  static func readMessages(_ url: URL) throws -> [String: Scalars] {
    var out: [String: Scalars] = [:]
    for line in try String(contentsOf: url, encoding: .utf8).split(separator: "\n") {
      let parts = line.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard parts.count == 2 else { continue }
      var value = Scalars()
      let raw = Array(parts[1].unicodeScalars)
      var i = 0
      while i < raw.count {
        if raw[i] == "\\", i + 5 < raw.count, raw[i + 1] == "u", let v = UInt32(String(String.UnicodeScalarView(raw[(i + 2)..<(i + 6)])), radix: 16),
          let c = Unicode.Scalar(v)
        {
          value.append(c)
          i += 6
        } else {
          value.append(raw[i])
          i += 1
        }
      }
      out[String(parts[0])] = value
    }
    return out
  }

  /// `langdetect.detect(text)`, or nil where langdetect raises "No features in text".
  public func detect(_ input: Scalars) -> String? {
    let text = prepare(input)
    let grams = ngrams(text)
    guard !grams.isEmpty else { return nil }
    var total = [Double](repeating: 0, count: languages.count)
    var random = PythonRandom(seed: 0)
    for _ in 0..<7 {
      var prob = [Double](repeating: 1.0 / Double(languages.count), count: languages.count)
      let alpha = 0.5 + random.gauss() * 0.05
      let weight = alpha / 10_000
      var i = 0
      while true {
        let g = grams[random.below(grams.count)]
        if let p = probabilities[g] {
          for k in prob.indices { prob[k] *= weight + p[k] }
        }
        if i % 5 == 0 {
          // Python 3.11's sum(): left to right, uncompensated.
          var sum = 0.0
          for p in prob { sum += p }
          var maxp = 0.0
          for k in prob.indices {
            let p = prob[k] / sum
            if maxp < p { maxp = p }
            prob[k] = p
          }
          if maxp > 0.99999 || i >= 1000 { break }
        }
        i += 1
      }
      for k in total.indices { total[k] += prob[k] / 7 }
    }
    // sorted(reverse=True) is stable: among equal probabilities the earlier language wins.
    var best: Int?
    for k in total.indices where total[k] > 0.1 {
      if best == nil || total[k] > total[best!] { best = k }
    }
    return best.map { languages[$0] } ?? "unknown"
  }

  /// Detector.append and cleaning_text.
  func prepare(_ input: Scalars) -> Scalars {
    var text = Self.replaceURLs(input)
    text = Self.replaceMailAddresses(text)
    text = normalizeVietnamese(text)
    var out = Scalars()
    var previous: Unicode.Scalar? = nil
    for c in text.prefix(10_000) {
      if c != " " || previous != " " { out.append(c) }
      previous = c
    }
    var latin = 0, nonLatin = 0
    for c in out {
      if c >= "A" && c <= "z" {
        latin += 1
      } else if c.value >= 0x300 {
        // langdetect compares the block number with a name here, which is never equal: every
        // character from U+0300 on counts as non-Latin.
        nonLatin += 1
      }
    }
    if latin * 2 < nonLatin { out = out.filter { $0 < "A" || $0 > "z" } }
    return out
  }

  /// `https?://[-_.?&~;+=/#0-9A-Za-z]{1,2076}` to a space.
  static func replaceURLs(_ s: Scalars) -> Scalars {
    func inClass(_ c: Unicode.Scalar) -> Bool { isASCIIAlnum(c) || "-_.?&~;+=/#".unicodeScalars.contains(c) }
    return PythonText.substitute(s) { s, i in
      for scheme in ["https://", "http://"] {
        let p = scheme.scalars
        guard i + p.count <= s.count, s[i..<(i + p.count)].elementsEqual(p) else { continue }
        var j = i + p.count
        while j < s.count && j - (i + p.count) < 2076 && inClass(s[j]) { j += 1 }
        return j > i + p.count ? (j - i, [" "]) : nil
      }
      return nil
    }
  }

  static func isASCIIAlnum(_ c: Unicode.Scalar) -> Bool {
    (c >= "0" && c <= "9") || (c >= "A" && c <= "Z") || (c >= "a" && c <= "z")
  }

  /// `[-_.0-9A-Za-z]{1,64}@[-_0-9A-Za-z]{1,255}[-_.0-9A-Za-z]{1,255}` to a space.
  static func replaceMailAddresses(_ s: Scalars) -> Scalars {
    func local(_ c: Unicode.Scalar) -> Bool { isASCIIAlnum(c) || c == "-" || c == "_" || c == "." }
    func host(_ c: Unicode.Scalar) -> Bool { isASCIIAlnum(c) || c == "-" || c == "_" }
    return PythonText.substitute(s) { s, i in mailMatch(s, i, local, host).map { ($0 - i, [" "]) } }
  }

  /// The end of a mail-address match starting at `i`, with the regex's backtracking written out.
  private static func mailMatch(
    _ s: Scalars, _ i: Int, _ local: (Unicode.Scalar) -> Bool, _ host: (Unicode.Scalar) -> Bool
  ) -> Int? {
    var at = i
    while at < s.count && local(s[at]) && at - i < 65 { at += 1 }
    guard at > i, at - i <= 64, at < s.count, s[at] == "@" else { return nil }
    let a = at + 1
    var r1 = 0
    while a + r1 < s.count && host(s[a + r1]) && r1 < 255 { r1 += 1 }
    guard r1 >= 1 else { return nil }
    // The second run takes over where the first may give back: the first keeps g ≥ 1 characters
    // and the second needs at least one of [-_.0-9A-Za-z] after them, up to 255.
    for g in stride(from: r1, through: 1, by: -1) {
      var r2 = 0
      while a + g + r2 < s.count && local(s[a + g + r2]) && r2 < 255 { r2 += 1 }
      if r2 >= 1 { return a + g + r2 }
    }
    return nil
  }

  /// NGram.normalize_vi: a letter of TO_NORMALIZE_VI_CHARS followed by a combining mark of
  /// DMARK_CLASS becomes the composed letter.
  func normalizeVietnamese(_ s: Scalars) -> Scalars {
    var out = Scalars()
    var i = 0
    while i < s.count {
      if i + 1 < s.count, let a = vietnameseLetters.firstIndex(of: s[i]), let m = vietnameseMarks.firstIndex(of: s[i + 1]),
        m < vietnameseComposed.count, a < vietnameseComposed[m].count
      {
        out.append(vietnameseComposed[m][a])
        i += 2
      } else {
        out.append(s[i])
        i += 1
      }
    }
    return out
  }

  /// NGram.normalize.
  func normalize(_ c: Unicode.Scalar) -> Unicode.Scalar {
    switch c.value {
    case 0x00...0x7F:
      return (c < "A" || (c > "Z" && c < "a") || c > "z") ? " " : c
    case 0x80...0xFF:
      return latin1Excluded.contains(c) ? " " : c
    case 0x180...0x24F:
      if c.value == 0x219 { return "\u{15F}" }
      if c.value == 0x21B { return "\u{163}" }
      return c
    case 0x2000...0x206F: return " "
    case 0x600...0x6FF: return c.value == 0x6CC ? "\u{64A}" : c
    case 0x1E00...0x1EFF: return c.value >= 0x1EA0 ? "\u{1EC3}" : c
    case 0x3040...0x309F: return "\u{3042}"
    case 0x30A0...0x30FF: return "\u{30A2}"
    case 0x3100...0x312F, 0x31A0...0x31BF: return "\u{3105}"
    case 0x4E00...0x9FFF: return cjkMap[c] ?? c
    case 0xAC00...0xD7AF: return "\u{AC00}"
    default: return c
    }
  }

  /// Detector._extract_ngrams with NGram.add_char: the 1-, 2- and 3-grams the profiles know, in
  /// text order, skipping those inside a word of two or more capitals.
  func ngrams(_ text: Scalars) -> [Scalars] {
    var result: [Scalars] = []
    var grams: Scalars = [" "]
    var capitalWord = false
    for raw in text {
      let c = normalize(raw)
      let last = grams[grams.count - 1]
      if last == " " {
        grams = [" "]
        capitalWord = false
        if c == " " { continue }
      } else if grams.count >= 3 {
        grams.removeFirst()
      }
      grams.append(c)
      // str.isupper() of one character: the Uppercase property alone.
      if PythonText.isUpper(c) {
        if PythonText.isUpper(last) { capitalWord = true }
      } else {
        capitalWord = false
      }
      if capitalWord { continue }
      for n in 1...3 {
        if grams.count < n { break }
        let w = Array(grams[(grams.count - n)...])
        if w != [" "] && probabilities[w] != nil { result.append(w) }
      }
    }
    return result
  }
}
