/// Counts sentences for `length_constraints:number_sentences`.
///
/// IFEval counts with nltk's punkt tokenizer and its trained English parameters, which cannot be
/// installed here (nltk downloads them at run time). This counts with the rule-based splitter Google
/// ships in the same file, instructions_util.split_into_sentences: abbreviations (Mr., Dr., Inc.,
/// Ph.D.), initials, acronyms, decimals, web domains and ellipses do not end a sentence; ".", "?"
/// and "!" do; quotes after them move inside. The two agree on ordinary prose; they differ on
/// abbreviations punkt learnt that the rule does not list (e.g., "etc.", "vs."), which punkt does
/// not split after. docs/IFEVAL.md lists this deviation.
enum SentenceSplitter {
  static func count(_ text: Scalars) -> Int { sentences(text).count }

  static func sentences(_ input: Scalars) -> [Scalars] {
    var t: Scalars = [" "] + input.map { $0 == "\n" ? " " : $0 } + [" ", " "]
    let prd = "<prd>".scalars, stop = "<stop>".scalars
    func isAlpha(_ c: Unicode.Scalar) -> Bool { (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") }
    func isCapital(_ c: Unicode.Scalar) -> Bool { c >= "A" && c <= "Z" }
    func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
    func at(_ s: Scalars, _ i: Int) -> Unicode.Scalar? { i >= 0 && i < s.count ? s[i] : nil }
    func word(_ s: Scalars, _ i: Int, _ alternatives: [String]) -> Int? {
      for a in alternatives {
        let w = a.scalars
        if i + w.count <= s.count && s[i..<(i + w.count)].elementsEqual(w) { return w.count }
      }
      return nil
    }
    /// `_STARTERS`: its alternatives in order; "X\s" ends in any whitespace character.
    func starter(_ s: Scalars, _ i: Int) -> Int? {
      if let n = word(s, i, ["Mr", "Mrs", "Ms", "Dr", "Prof", "Capt", "Cpt", "Lt"]) { return n }
      for w in ["He", "She", "It", "They", "Their", "Our", "We", "But", "However", "That", "This"] {
        if let n = word(s, i, [w]), let c = at(s, i + n), PythonText.isSpace(c) { return n + 1 }
      }
      return word(s, i, ["Wherever"])
    }
    let suffixes = ["Inc", "Ltd", "Jr", "Sr", "Co"]

    // re.sub(_PREFIXES, "\\1<prd>"): (Mr|St|Mrs|Ms|Dr)[.]
    t = PythonText.substitute(t) { s, i in
      for w in ["Mr", "St", "Mrs", "Ms", "Dr"] {
        if let n = word(s, i, [w]), at(s, i + n) == "." { return (n + 1, w.scalars + prd) }
      }
      return nil
    }
    // re.sub(_WEBSITES, "<prd>\\1"): [.](com|net|org|io|gov|edu|me)
    t = PythonText.substitute(t) { s, i in
      guard s[i] == "." else { return nil }
      for w in ["com", "net", "org", "io", "gov", "edu", "me"] where word(s, i + 1, [w]) != nil {
        return (1 + w.unicodeScalars.count, prd + w.scalars)
      }
      return nil
    }
    // ([0-9])[.]([0-9]) -> \1<prd>\2
    t = PythonText.substitute(t) { s, i in
      guard isDigit(s[i]), at(s, i + 1) == ".", let d = at(s, i + 2), isDigit(d) else { return nil }
      return (3, [s[i]] + prd + [d])
    }
    // \.{2,} -> "<prd>" * length + "<stop>"
    t = PythonText.substitute(t) { s, i in
      var j = i
      while j < s.count && s[j] == "." { j += 1 }
      guard j - i >= 2 else { return nil }
      return (j - i, Array(Array(repeating: prd, count: j - i).joined()) + stop)
    }
    if PythonText.contains(t, "Ph.D".scalars) { t = replace(t, "Ph.D.", "Ph<prd>D<prd>") }
    // \s([A-Za-z])[.]  -> " \1<prd> "
    t = PythonText.substitute(t) { s, i in
      guard PythonText.isSpace(s[i]), let a = at(s, i + 1), isAlpha(a), at(s, i + 2) == ".", at(s, i + 3) == " " else { return nil }
      return (4, [" ", a] + prd + [" "])
    }
    // ([A-Z][.][A-Z][.](?:[A-Z][.])?) _STARTERS -> \1<stop> \2
    t = PythonText.substitute(t) { s, i in
      guard isCapital(s[i]), at(s, i + 1) == ".", let b = at(s, i + 2), isCapital(b), at(s, i + 3) == "." else { return nil }
      // The optional third letter is greedy; without it the pattern tries again.
      for acronym in [6, 4] {
        if acronym == 6 { guard let c = at(s, i + 4), isCapital(c), at(s, i + 5) == "." else { continue } }
        guard at(s, i + acronym) == " ", let n = starter(s, i + acronym + 1) else { continue }
        return (acronym + 1 + n, Array(s[i..<(i + acronym)]) + stop + [" "] + Array(s[(i + acronym + 1)..<(i + acronym + 1 + n)]))
      }
      return nil
    }
    // ([A-Za-z])[.]([A-Za-z])[.]([A-Za-z])[.] -> \1<prd>\2<prd>\3<prd>, then the same for two.
    for letters in [3, 2] {
      t = PythonText.substitute(t) { s, i in
        var out = Scalars()
        for k in 0..<letters {
          guard let a = at(s, i + 2 * k), isAlpha(a), at(s, i + 2 * k + 1) == "." else { return nil }
          out += [a] + prd
        }
        return (2 * letters, out)
      }
    }
    // " " _SUFFIXES "[.] " _STARTERS -> " \1<stop> \2"
    t = PythonText.substitute(t) { s, i in
      guard s[i] == " " else { return nil }
      for w in suffixes {
        guard let n = word(s, i + 1, [w]), at(s, i + 1 + n) == ".", at(s, i + 2 + n) == " ", let m = starter(s, i + 3 + n) else { continue }
        return (3 + n + m, [" "] + w.scalars + stop + [" "] + Array(s[(i + 3 + n)..<(i + 3 + n + m)]))
      }
      return nil
    }
    // " " _SUFFIXES "[.]" -> " \1<prd>"
    t = PythonText.substitute(t) { s, i in
      guard s[i] == " " else { return nil }
      for w in suffixes {
        if let n = word(s, i + 1, [w]), at(s, i + 1 + n) == "." { return (2 + n, [" "] + w.scalars + prd) }
      }
      return nil
    }
    // " ([A-Za-z])[.]" -> " \1<prd>"
    t = PythonText.substitute(t) { s, i in
      guard s[i] == " ", let a = at(s, i + 1), isAlpha(a), at(s, i + 2) == "." else { return nil }
      return (3, [" ", a] + prd)
    }
    if t.contains("\u{201D}") { t = replace(t, ".\u{201D}", "\u{201D}.") }
    if t.contains("\"") { t = replace(t, ".\"", "\".") }
    if t.contains("!") { t = replace(t, "!\"", "\"!") }
    if t.contains("?") { t = replace(t, "?\"", "\"?") }
    t = replace(t, ".", ".<stop>")
    t = replace(t, "?", "?<stop>")
    t = replace(t, "!", "!<stop>")
    t = replace(t, "<prd>", ".")
    var out = PythonText.split(t, separator: stop).map { PythonText.strip($0) }
    if let last = out.last, last.isEmpty { out.removeLast() }
    return out
  }

  /// `str.replace`.
  private static func replace(_ s: Scalars, _ old: String, _ new: String) -> Scalars {
    PythonText.split(s, separator: old.scalars).joined(separator: new.scalars).map { $0 }
  }
}
