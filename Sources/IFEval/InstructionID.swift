/// The 25 instructions of IFEval (Zhou et al. 2023), by the ids of Google's
/// `instructions_registry.INSTRUCTION_DICT`.
public enum InstructionID: String, CaseIterable, Sendable, Codable {
  case keywordsExistence = "keywords:existence"
  case keywordsFrequency = "keywords:frequency"
  case keywordsForbiddenWords = "keywords:forbidden_words"
  case keywordsLetterFrequency = "keywords:letter_frequency"
  case responseLanguage = "language:response_language"
  case numberSentences = "length_constraints:number_sentences"
  case numberParagraphs = "length_constraints:number_paragraphs"
  case numberWords = "length_constraints:number_words"
  case nthParagraphFirstWord = "length_constraints:nth_paragraph_first_word"
  case numberPlaceholders = "detectable_content:number_placeholders"
  case postscript = "detectable_content:postscript"
  case numberBulletLists = "detectable_format:number_bullet_lists"
  case constrainedResponse = "detectable_format:constrained_response"
  case numberHighlightedSections = "detectable_format:number_highlighted_sections"
  case multipleSections = "detectable_format:multiple_sections"
  case jsonFormat = "detectable_format:json_format"
  case title = "detectable_format:title"
  case twoResponses = "combination:two_responses"
  case repeatPrompt = "combination:repeat_prompt"
  case endChecker = "startend:end_checker"
  case capitalWordFrequency = "change_case:capital_word_frequency"
  case englishCapital = "change_case:english_capital"
  case englishLowercase = "change_case:english_lowercase"
  case noComma = "punctuation:no_comma"
  case quotation = "startend:quotation"

  /// The kwargs each instruction's `build_description` takes, and their types.
  var parameters: [(name: String, kind: ParameterKind)] {
    switch self {
    case .keywordsExistence: [("keywords", .words)]
    case .keywordsFrequency: [("keyword", .text), ("frequency", .count), ("relation", .relation)]
    case .keywordsForbiddenWords: [("forbidden_words", .words)]
    case .keywordsLetterFrequency: [("letter", .letter), ("let_frequency", .count), ("let_relation", .relation)]
    case .responseLanguage: [("language", .text)]
    case .numberSentences: [("num_sentences", .count), ("relation", .relation)]
    case .numberParagraphs: [("num_paragraphs", .count)]
    case .numberWords: [("num_words", .count), ("relation", .relation)]
    case .nthParagraphFirstWord: [("num_paragraphs", .count), ("nth_paragraph", .count), ("first_word", .text)]
    case .numberPlaceholders: [("num_placeholders", .count)]
    case .postscript: [("postscript_marker", .text)]
    case .numberBulletLists: [("num_bullets", .count)]
    case .numberHighlightedSections: [("num_highlights", .count)]
    case .multipleSections: [("section_spliter", .text), ("num_sections", .count)]
    case .repeatPrompt: [("prompt_to_repeat", .text)]
    case .endChecker: [("end_phrase", .text)]
    case .capitalWordFrequency: [("capital_frequency", .count), ("capital_relation", .relation)]
    case .constrainedResponse, .jsonFormat, .title, .twoResponses, .englishCapital, .englishLowercase, .noComma, .quotation: []
    }
  }
}

/// The type of one IFEval kwarg.
enum ParameterKind: Sendable {
  /// A non-negative integer (a JSON number with no fraction; not a boolean).
  case count
  /// A non-empty string.
  case text
  /// A non-empty list of non-empty strings.
  case words
  /// "less than" or "at least".
  case relation
  /// One ASCII letter.
  case letter

  var description: String {
    switch self {
    case .count: "a non-negative integer"
    case .text: "a non-empty string"
    case .words: "a non-empty list of strings"
    case .relation: "\"less than\" or \"at least\""
    case .letter: "one letter a–z"
    }
  }
}

/// The comparison IFEval's counting instructions make.
public enum Relation: String, Sendable {
  case lessThan = "less than"
  case atLeast = "at least"

  func holds(_ actual: Int, _ threshold: Int) -> Bool {
    switch self {
    case .lessThan: actual < threshold
    case .atLeast: actual >= threshold
    }
  }
}
