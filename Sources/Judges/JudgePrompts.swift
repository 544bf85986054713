/// The LLM judge's prompts: AxBench's three 0–2 ratings (concept, instruction relevance,
/// fluency) answered as `Rating: [[score]]`, the persona trait prompt of the trait file, and
/// a 0–100 coherence prompt.
public enum JudgePrompts {
  public static func concept(_ concept: String, _ response: String) -> String {
    """
    [System]
    Please act as an impartial judge and decide whether the concept below appears in the sentence fragment. \
    Judge only whether the concept is clearly incorporated; ignore grammar and logical coherence.

    First explain briefly where the fragment refers to the concept, noting any minimal or awkward use. Then rate \
    the concept's presence from 0 to 2: 0 means absent, 1 means somewhat present but minimal or awkward, 2 means \
    fully and naturally incorporated. Give the rating exactly as "Rating: [[score]]".

    [Concept Start]
    \(concept)
    [Concept End]

    [Sentence Fragment Start]
    \(response)
    [Sentence Fragment End]
    """
  }

  public static func instruction(_ instruction: String, _ response: String) -> String {
    """
    [System]
    Please act as an impartial judge and decide how related the sentence fragment below is to the instruction. \
    Judge only relatedness, not grammar, coherence or informativeness.

    First explain briefly which parts of the fragment relate to the instruction. Then rate the relatedness from 0 \
    to 2: 0 means unrelated, 1 means somewhat related but only minimally or indirectly, 2 means clearly related. \
    Give the rating exactly as "Rating: [[score]]".

    [Instruction Start]
    \(instruction)
    [Instruction End]

    [Sentence Fragment Start]
    \(response)
    [Sentence Fragment End]
    """
  }

  public static func fluency(_ response: String) -> String {
    """
    [System]
    Please act as an impartial judge and rate the fluency of the sentence fragment below, ignoring whether it is \
    complete, relevant or informative.

    First describe briefly any unnatural phrasing, awkward transitions, grammatical errors or repetition. Then rate \
    the fluency from 0 to 2: 0 means not fluent (hard to read, broken or repetitive), 1 means somewhat fluent with \
    noticeable problems, 2 means fluent and natural. Give the rating exactly as "Rating: [[score]]".

    [Sentence Fragment Start]
    \(response)
    [Sentence Fragment End]
    """
  }

  public static func trait(_ trait: TraitDescription, question: String, answer: String) -> String {
    trait.evalPrompt.replacingOccurrences(of: "{question}", with: question).replacingOccurrences(of: "{answer}", with: answer)
  }

  public static func coherence(question: String, answer: String) -> String {
    """
    I am evaluating a language model's answer. Rate only its coherence, not whether it is correct or appropriate.

    [QUESTION START]
    \(question)
    [QUESTION END]

    [ANSWER START]
    \(answer)
    [ANSWER END]

    Score from 0 to 100: 0 means the answer makes no sense (not valid English, or rambling and confused), 50 means \
    it is somewhat understandable but hard to follow, 100 means it is clear, well structured and answers the \
    question. Respond with a number between 0 and 100. Don't say anything else, just the number.
    """
  }

  /// The score in "Rating: [[score]]", clamped to 0…2; nil when absent (AxBench then scores 0).
  /// Asks for the instruction with a request to avoid the concept blended in, as the PrOSV paper had
  /// gpt-4o-mini write its suppressed prompts.
  public static func suppression(_ instruction: String, concept: String) -> String {
    """
    Rewrite the instruction below so that it also tells the responder not to mention or allude to the \
    concept "\(concept)" in any way. Keep everything the instruction asks for, and blend the new request \
    in naturally. Reply with the rewritten instruction only, nothing else.

    Instruction: \(instruction)
    """
  }

  /// The rewritten instruction in a judge's answer: without surrounding whitespace, quotes or an
  /// "Instruction:" label; nil when nothing is left.
  public static func parseRewrite(_ answer: String) -> String? {
    var t = answer.trimmingCharacters(in: .whitespacesAndNewlines)
    for label in ["Rewritten instruction:", "Instruction:"] where t.lowercased().hasPrefix(label.lowercased()) {
      t = String(t.dropFirst(label.count)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    if t.count >= 2, t.first == "\"", t.last == "\"" { t = String(t.dropFirst().dropLast()) }
    return t.isEmpty ? nil : t
  }

  public static func parseRating(_ answer: String) -> Double? {
    guard let start = answer.range(of: "Rating: [[", options: .backwards),
      let end = answer.range(of: "]]", range: start.upperBound..<answer.endIndex),
      let value = Double(answer[start.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespaces)), value.isFinite
    else { return nil }
    return min(2, max(0, value))
  }

  /// The first number in the answer, clamped to 0…100; nil for a refusal or no number.
  public static func parseScore(_ answer: String) -> Double? {
    if answer.uppercased().contains("REFUSAL") { return nil }
    var digits = ""
    for c in answer {
      if c.isNumber || (c == "." && !digits.isEmpty) {
        digits.append(c)
      } else if !digits.isEmpty {
        break
      }
    }
    guard let v = Double(digits), v.isFinite else { return nil }
    return min(100, max(0, v))
  }
}
