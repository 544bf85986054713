/// Words for `change_case:capital_word_frequency`, which counts the tokens of
/// `nltk.word_tokenize(response)` that are `isupper()`.
///
/// `word_tokenize` first splits sentences with punkt, whose trained data cannot be installed here;
/// a sentence split only moves a full stop into its own token, which never changes whether a
/// token is upper case, so the reference here is nltk's NLTKWordTokenizer over the whole response
/// (`word_tokenize(…, preserve_line=True)`). Of its rules, this keeps the ones that can change the
/// count of upper-case tokens: it splits off the punctuation NLTK pads (quotes, brackets, `; @ # $ % &`,
/// `? ! *`, dashes U+2012–2015, runs of two or more full stops, `--`, and `,`/`:` unless a digit
/// follows), and splits the contractions NLTK splits (`'s 'm 'd 'll 're 've n't` in the cases NLTK
/// lists, `cannot`, `gonna`, `gotta`, `gimme`, `lemme`, `wanna`, `'tis`, `'twas`). DONT'T is then two
/// upper-case tokens, DO and N'T, as in NLTK.
enum WordTokenizer {
  static func tokens(_ text: Scalars) -> [Scalars] {
    var padded = Scalars()
    padded.reserveCapacity(text.count * 2)
    var i = 0
    while i < text.count {
      let c = text[i]
      let next: Unicode.Scalar? = i + 1 < text.count ? text[i + 1] : nil
      if c == "." && next == "." {
        var j = i
        while j < text.count && text[j] == "." { j += 1 }
        padded += [" "] + text[i..<j] + [" "]
        i = j
        continue
      }
      if c == "-" && next == "-" {
        padded += [" ", "-", "-", " "]
        i += 2
        continue
      }
      if c == "," || c == ":" {
        if let n = next, PythonText.isDecimal(n) { padded.append(c) } else { padded += [" ", c, " "] }
      } else if separators.contains(c) || (0x2012...0x2015).contains(c.value) {
        padded += [" ", c, " "]
      } else {
        padded.append(c)
      }
      i += 1
    }
    var out: [Scalars] = []
    let words = PythonText.splitWhitespace(padded)
    for w in words { out += splitContraction(w) }
    return out
  }

  static let separators: Set<Unicode.Scalar> = [
    "«", "“", "‘", "„", "`", "»", "”", "’", "\"", ";", "@", "#", "$", "%", "&", "?", "!", "*", "(", ")", "[", "]", "{", "}", "<", ">",
  ]

  private static let endings: [String] = ["'s", "'S", "'m", "'M", "'d", "'D", "'ll", "'LL", "'re", "'RE", "'ve", "'VE", "n't", "N'T"]
  private static let pairs: [(String, String)] = [
    ("can", "not"), ("d", "'ye"), ("gim", "me"), ("gon", "na"), ("got", "ta"), ("lem", "me"), ("more", "'n"), ("wan", "na"),
    ("'t", "is"), ("'t", "was"),
  ]

  private static func splitContraction(_ w: Scalars) -> [Scalars] {
    let lowered = w.map(PythonText.simpleLower)
    for (a, b) in pairs where lowered == (a + b).scalars {
      return [Array(w[..<a.unicodeScalars.count]), Array(w[a.unicodeScalars.count...])]
    }
    for e in endings {
      let s = e.scalars
      if w.count > s.count && PythonText.hasSuffix(w, s) && w[w.count - s.count - 1] != "'" {
        return [Array(w[..<(w.count - s.count)]), s]
      }
    }
    if w.count > 1 && w.last == "'" && w[w.count - 2] != "'" { return [Array(w.dropLast()), ["'"]] }
    return [w]
  }
}
