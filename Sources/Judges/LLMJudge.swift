import Foundation

/// Judges with a language model behind an OpenAI-compatible API: AxBench's three 0–2
/// ratings (an unparseable answer scores 0, as in AxBench), the trait file's 0–100 prompt
/// and a 0–100 coherence prompt (a refusal or non-number scores 0).
public final class LLMJudge: Judge, Sendable {
  public let client: ChatCompletionsClient

  public init(client: ChatCompletionsClient) { self.client = client }

  public func score(_ items: [AxBenchItem]) throws -> [AxBenchScores] {
    let prompts = items.flatMap {
      [
        JudgePrompts.concept($0.concept, $0.response), JudgePrompts.instruction($0.instruction, $0.response),
        JudgePrompts.fluency($0.response),
      ]
    }
    let answers = try client.complete(prompts).map { JudgePrompts.parseRating($0) ?? 0 }
    return items.indices.map { AxBenchScores(concept: answers[3 * $0], instruct: answers[3 * $0 + 1], fluency: answers[3 * $0 + 2]) }
  }

  public func score(_ items: [PersonaItem]) throws -> [PersonaScores] {
    let prompts = items.flatMap {
      [
        JudgePrompts.trait($0.trait, question: $0.question, answer: $0.answer),
        JudgePrompts.coherence(question: $0.question, answer: $0.answer),
      ]
    }
    let answers = try client.complete(prompts).map { JudgePrompts.parseScore($0) ?? 0 }
    return items.indices.map { PersonaScores(trait: answers[2 * $0], coherence: answers[2 * $0 + 1]) }
  }

  /// The persona coherence prompt alone (0–100; a refusal or non-number scores 0).
  public func coherence(_ items: [CoherenceItem]) throws -> [Double] {
    try client.complete(items.map { JudgePrompts.coherence(question: $0.question, answer: $0.answer) }).map { JudgePrompts.parseScore($0) ?? 0 }
  }

  /// The judge model rewrites each instruction to forbid its concept; an empty answer falls back
  /// to the instruction with the first template (`SuppressionPrompt`'s in the benchmark), so that
  /// no prompt is left unsuppressed.
  public func suppress(_ items: [SuppressionItem]) throws -> [String]? {
    let answers = try client.complete(items.map { JudgePrompts.suppression($0.instruction, concept: $0.concept) })
    return zip(items, answers).map { item, answer in
      JudgePrompts.parseRewrite(answer) ?? "\(item.instruction)\n\nIn your answer, do not mention or allude to \(item.concept) in any way."
    }
  }
}
