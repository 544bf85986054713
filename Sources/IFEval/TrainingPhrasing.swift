/// Training instructions for the steering benchmark: kwargs drawn as Google's `build_description`
/// draws them when it is given none, and a few wordings of each instruction, so that what a method
/// learns from the training prompts is the instruction, not one sentence or one parameter value.
extension InstructionID {
  /// The ids whose draw this file implements: Stolfo et al.'s format subset. The others draw
  /// keywords from word lists or mix several parameters; the benchmark takes their kwargs from
  /// the id's own prompts instead.
  public static let drawable: Set<InstructionID> = [
    .capitalWordFrequency, .englishCapital, .englishLowercase, .constrainedResponse, .jsonFormat, .multipleSections,
    .numberBulletLists, .numberHighlightedSections, .title, .responseLanguage, .noComma, .endChecker, .quotation,
  ]

  /// An instruction of this id with kwargs drawn as `build_description` draws missing ones
  /// (instructions.py: `_NUM_BULLETS = 5`, `_NUM_HIGHLIGHTED_SECTIONS = 4`, `_NUM_SECTIONS = 5`,
  /// `_SECTION_SPLITER`, `_ALL_CAPITAL_WORD_FREQUENCY = 20`, `_COMPARISON_RELATION`,
  /// `_ENDING_OPTIONS`, and any of `LANGUAGE_CODES`), or nil for an id outside `drawable`.
  /// The draws are uniform as Python's `random.randint` and `random.choice` are, from `generator`.
  public func draw(using generator: inout some RandomNumberGenerator) -> Instruction? {
    guard Self.drawable.contains(self) else { return nil }
    func int(_ upper: Int) -> JSONValue { .number(Double(Int.random(in: 1...upper, using: &generator))) }
    func choice(_ options: [String]) -> JSONValue { .string(options.randomElement(using: &generator)!) }
    let kwargs: [String: JSONValue] =
      switch self {
      case .capitalWordFrequency: ["capital_frequency": int(20), "capital_relation": choice(["less than", "at least"])]
      case .multipleSections: ["section_spliter": choice(["Section", "SECTION"]), "num_sections": int(5)]
      case .numberBulletLists: ["num_bullets": int(5)]
      case .numberHighlightedSections: ["num_highlights": int(4)]
      case .responseLanguage: ["language": choice(Instruction.languageNames.keys.sorted())]
      case .endChecker: ["end_phrase": choice(["Any other questions?", "Is there anything else I can help with?"])]
      default: [:]
      }
    return try? Instruction(id: rawValue, kwargs: kwargs)
  }
}

extension Instruction {
  /// IFEval's own phrasing first, then the project's rewordings of it with the same kwargs (none
  /// for ids outside the format subset). Every wording asks for exactly what the checker verifies.
  public var phrasings: [String] {
    let count = { (name: String) in self.counts[name].map(String.init) ?? "" }
    let text = { (name: String) in self.texts[name]?.string ?? "" }
    let relation = { (name: String) in self.relations[name]?.rawValue ?? "" }
    let own: [String] =
      switch id {
      case .capitalWordFrequency:
        [
          "Use words written entirely in capital letters \(relation("capital_relation")) \(count("capital_frequency")) times in your answer.",
          "The number of ALL-CAPS words in your reply must be \(relation("capital_relation")) \(count("capital_frequency")).",
        ]
      case .englishCapital:
        ["Write your whole answer in English using only CAPITAL LETTERS.", "Respond in English, in uppercase letters only, from start to finish."]
      case .englishLowercase:
        [
          "Write your whole answer in English using only lowercase letters; do not use any capital letters.",
          "Respond in English, entirely in lowercase, with no uppercase letters anywhere.",
        ]
      case .constrainedResponse:
        [
          "Reply with exactly one of these: 'My answer is yes.', 'My answer is no.', or 'My answer is maybe.'",
          "Your answer must be one of the following phrases: My answer is yes. / My answer is no. / My answer is maybe.",
        ]
      case .jsonFormat:
        ["Format your entire answer as valid JSON.", "Give your whole response as a JSON object; markdown code ticks are allowed."]
      case .multipleSections:
        [
          "Divide your answer into \(count("num_sections")) sections, each starting with \"\(text("section_spliter")) X\" where X is its number.",
          "Organise the response as \(count("num_sections")) parts, and begin each part with the header \(text("section_spliter")) followed by its number.",
        ]
      case .numberBulletLists:
        [
          "Use exactly \(count("num_bullets")) markdown bullet points (lines starting with *) in your answer.",
          "Format your response as a list of exactly \(count("num_bullets")) bullet points, each beginning with an asterisk.",
        ]
      case .numberHighlightedSections:
        [
          "Use markdown to highlight at least \(count("num_highlights")) parts of your answer, like *this part*.",
          "Mark at least \(count("num_highlights")) sections of your reply as highlighted with asterisks, e.g. *important section*.",
        ]
      case .title:
        ["Give your answer a title and put it in double angular brackets, like <<my title>>.", "Start with a title wrapped in << and >>, for example <<a day at sea>>."]
      case .responseLanguage:
        [
          "Write your whole answer in \(Self.languageNames[text("language")] ?? text("language")) only.",
          "Respond only in the \(Self.languageNames[text("language")] ?? text("language")) language; do not use any other language.",
        ]
      case .noComma: ["Do not use any commas anywhere in your answer.", "Write your response without a single comma."]
      case .endChecker:
        [
          "End your answer with the exact phrase \"\(text("end_phrase"))\" and write nothing after it.",
          "Your response must finish with these exact words: \(text("end_phrase"))",
        ]
      case .quotation: ["Put your whole answer inside double quotation marks.", "Enclose your entire response in double quotes (\")."]
      default: []
      }
    return [phrasing] + own
  }
}
