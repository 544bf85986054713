/// IFEval's own wording of each instruction: the `_description_pattern` of Google's
/// `build_description`, filled with the instruction's kwargs as Python's `format` would write
/// them (lists as `['a', 'b']`, the constrained options as a tuple). The benchmark appends it to a
/// base query to make training prompts, as IFEval's prompts carry their instructions.
extension Instruction {
  public var phrasing: String {
    func text(_ name: String) -> String { texts[name]?.string ?? "" }
    func count(_ name: String) -> String { counts[name].map(String.init) ?? "" }
    func relation(_ name: String) -> String { relations[name]?.rawValue ?? "" }
    // Google sorts the keywords (and deduplicates forbidden words) before writing them as a Python list.
    func list(_ name: String) -> String {
      let sorted = Array(Set(words[name] ?? [])).sorted { $0.lexicographicallyPrecedes($1) { $0.value < $1.value } }
      let all = name == "keywords" ? (words[name] ?? []).sorted { $0.lexicographicallyPrecedes($1) { $0.value < $1.value } } : sorted
      return "[" + all.map { Self.pythonRepr($0.string) }.joined(separator: ", ") + "]"
    }
    switch id {
    case .responseLanguage:
      let code = text("language")
      return "Your ENTIRE response should be in \(Self.languageNames[code] ?? code) language, no other language is allowed."
    case .numberSentences: return "Your response should contain \(relation("relation")) \(count("num_sentences")) sentences."
    case .numberPlaceholders:
      return "The response must contain at least \(count("num_placeholders")) placeholders represented by square brackets, such as [address]."
    case .numberBulletLists:
      return "Your answer must contain exactly \(count("num_bullets")) bullet points. Use the markdown bullet points such as:\n* This is point 1. \n* This is point 2"
    case .constrainedResponse:
      return "Answer with one of the following options: ('My answer is yes.', 'My answer is no.', 'My answer is maybe.')"
    case .numberHighlightedSections:
      return "Highlight at least \(count("num_highlights")) sections in your answer with markdown, i.e. *highlighted section*."
    case .multipleSections:
      let s = text("section_spliter")
      return
        "Your response must have \(count("num_sections")) sections. Mark the beginning of each section with \(s) X, such as:\n\(s) 1\n[content of section 1]\n\(s) 2\n[content of section 2]"
    case .numberParagraphs:
      return "There should be \(count("num_paragraphs")) paragraphs. Paragraphs are separated with the markdown divider: ***"
    case .postscript: return "At the end of your response, please explicitly add a postscript starting with \(text("postscript_marker"))"
    case .keywordsExistence: return "Include keywords \(list("keywords")) in the response."
    case .keywordsFrequency:
      return "In your response, the word \(text("keyword")) should appear \(relation("relation")) \(count("frequency")) times."
    case .numberWords: return "Answer with \(relation("relation")) \(count("num_words")) words."
    case .jsonFormat: return "Entire output should be wrapped in JSON format. You can use markdown ticks such as ```."
    case .nthParagraphFirstWord:
      return
        "There should be \(count("num_paragraphs")) paragraphs. Paragraphs and only paragraphs are separated with each other by two new lines as if it was '\\n\\n' in python. Paragraph \(count("nth_paragraph")) must start with word \(text("first_word"))."
    case .keywordsForbiddenWords: return "Do not include keywords \(list("forbidden_words")) in the response."
    case .twoResponses:
      return "Give two different responses. Responses and only responses should be separated by 6 asterisk symbols: ******."
    case .repeatPrompt:
      return
        "First repeat the request word for word without change, then give your answer (1. do not say any words or characters before repeating the request; 2. the request you need to repeat does not include this sentence)"
    case .endChecker:
      return "Finish your response with this exact phrase \(text("end_phrase")). No other words should follow this phrase."
    case .title: return "Your answer must contain a title, wrapped in double angular brackets, such as <<poem of joy>>."
    case .keywordsLetterFrequency:
      return "In your response, the letter \(text("letter")) should appear \(relation("let_relation")) \(count("let_frequency")) times."
    case .englishCapital: return "Your entire response should be in English, and in all capital letters."
    case .englishLowercase: return "Your entire response should be in English, and in all lowercase letters. No capital letters are allowed."
    case .noComma: return "In your entire response, refrain from the use of any commas."
    case .capitalWordFrequency:
      return
        "In your response, words with all capital letters should appear \(relation("capital_relation")) \(count("capital_frequency")) times."
    case .quotation: return "Wrap your entire response with double quotation marks."
    }
  }

  /// Python's `repr` of a string in a list: single quotes, or double quotes where the text holds a
  /// single quote and no double one; backslashes and the chosen quote escaped.
  static func pythonRepr(_ s: String) -> String {
    let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
    var out = String(quote)
    for c in s {
      if c == "\\" || c == quote { out.append("\\") }
      if c == "\n" { out += "\\n"; continue }
      if c == "\t" { out += "\\t"; continue }
      out.append(c)
    }
    return out + String(quote)
  }

  /// instructions_util.LANGUAGE_CODES: the languages IFEval asks for.
  static let languageNames: [String: String] = [
    "en": "English", "es": "Spanish", "pt": "Portuguese", "ar": "Arabic", "hi": "Hindi", "fr": "French", "ru": "Russian", "de": "German",
    "ja": "Japanese", "it": "Italian", "bn": "Bengali", "uk": "Ukrainian", "th": "Thai", "ur": "Urdu", "ta": "Tamil", "te": "Telugu",
    "bg": "Bulgarian", "ko": "Korean", "pl": "Polish", "he": "Hebrew", "fa": "Persian", "vi": "Vietnamese", "ne": "Nepali", "sw": "Swahili",
    "kn": "Kannada", "mr": "Marathi", "gu": "Gujarati", "pa": "Punjabi", "ml": "Malayalam", "fi": "Finnish",
  ]
}
