import Embedding
import Foundation
import LM

/// The offline judge: sentence-embedding similarities for concept, instruction relevance and
/// trait, and the unsteered LM's likelihood with a degeneration measure for fluency, each
/// mapped to AxBench's 0–2 scale (or 0–100) by a committed calibration.
public final class EmbeddedJudge: Judge, Sendable {
  public let encoder: SentenceEncoder
  public let model: DecoderModel
  public let calibration: JudgeCalibration
  /// Response tokens scored for fluency at most.
  public let maxFluencyTokens = 128
  /// Responses per LM pass when scoring fluency.
  static let fluencyBatch = 16

  public init(encoder: SentenceEncoder, model: DecoderModel, calibration: JudgeCalibration) {
    self.encoder = encoder
    self.model = model
    self.calibration = calibration
  }

  public func score(_ items: [AxBenchItem]) throws -> [AxBenchScores] {
    // One encoder pass over every distinct text: responses are needed by both similarities.
    let conceptPairs = items.map { (response: $0.response, concept: $0.concept) }
    let e = embeddings(conceptTexts(conceptPairs) + items.map(\.instruction))
    let concept = conceptSimilarities(conceptPairs, embeddings: e)
    let instruct = items.map { Double(SentenceEncoder.similarity(e[$0.response]!, e[$0.instruction]!)) }
    let fluency = try fluencyProbabilities(items.map { ($0.instruction, $0.response) })
    return items.indices.map {
      AxBenchScores(
        concept: calibration.concept.score(concept[$0]), instruct: calibration.instruct.score(instruct[$0]),
        fluency: calibration.fluencyThresholds.score(fluency[$0]))
    }
  }

  public func score(_ items: [PersonaItem]) throws -> [PersonaScores] {
    let differences = traitDifferences(items.map { ($0.answer, $0.trait) })
    let fluency = try fluencyProbabilities(items.map { ($0.question, $0.answer) })
    return items.indices.map {
      PersonaScores(trait: 100 * calibration.persona.probability([differences[$0]]), coherence: 100 * fluency[$0])
    }
  }

  /// The persona judge's coherence: 100 × the calibrated fluency probability.
  public func coherence(_ items: [CoherenceItem]) throws -> [Double] {
    try fluencyProbabilities(items.map { ($0.question, $0.answer) }).map { 100 * $0 }
  }

  // MARK: Features

  /// Unit embeddings of the distinct texts.
  func embeddings(_ texts: [String]) -> [String: [Float]] {
    let distinct = Array(Set(texts))
    return Dictionary(uniqueKeysWithValues: zip(distinct, encoder.embed(distinct)))
  }

  /// Cosine similarity of each (text, reference).
  public func similarities(_ pairs: [(String, String)]) -> [Double] {
    let e = embeddings(pairs.flatMap { [$0.0, $0.1] })
    return pairs.map { Double(SentenceEncoder.similarity(e[$0.0]!, e[$0.1]!)) }
  }

  /// The similarity of the response, or of its best sentence, to the concept label.
  public func conceptSimilarities(_ pairs: [(response: String, concept: String)]) -> [Double] {
    conceptSimilarities(pairs, embeddings: embeddings(conceptTexts(pairs)))
  }

  /// The texts `conceptSimilarities` embeds: responses, their sentences and the concepts.
  func conceptTexts(_ pairs: [(response: String, concept: String)]) -> [String] {
    pairs.flatMap { [$0.response] + Self.sentences($0.response) } + pairs.map(\.concept)
  }

  func conceptSimilarities(_ pairs: [(response: String, concept: String)], embeddings e: [String: [Float]]) -> [Double] {
    pairs.map { pair in
      ([pair.response] + Self.sentences(pair.response)).map { Double(SentenceEncoder.similarity(e[$0]!, e[pair.concept]!)) }.max()
        ?? 0
    }
  }

  /// Mean over the trait's prompt pairs of sim(answer, pos) − sim(answer, neg).
  public func traitDifferences(_ pairs: [(answer: String, trait: TraitDescription)]) -> [Double] {
    let e = embeddings(pairs.flatMap { p in [p.answer] + p.trait.pairs.flatMap { [$0.pos, $0.neg] } })
    return pairs.map { p in
      let d = p.trait.pairs.map {
        Double(SentenceEncoder.similarity(e[p.answer]!, e[$0.pos]!) - SentenceEncoder.similarity(e[p.answer]!, e[$0.neg]!))
      }
      return d.reduce(0, +) / Double(max(1, d.count))
    }
  }

  /// Fluency features of each (instruction, response): mean token log-probability under the
  /// unsteered LM, repeated-trigram fraction and distinct-token fraction.
  public func fluencyFeatures(_ pairs: [(instruction: String, response: String)]) throws -> [[Double]] {
    let sequences = pairs.map {
      TeacherForcedSequence(
        prompt: model.chatPrompt(user: $0.instruction),
        response: Array(model.tokenizer.encode($0.response, parseSpecial: false).prefix(maxFluencyTokens)))
    }
    // One instruction's responses go into the same batch, where they share the prompt's prefill.
    var byPrompt: [[Int]: [Int]] = [:]
    var prompts: [[Int]] = []
    for (i, s) in sequences.enumerated() {
      if byPrompt[s.prompt] == nil { prompts.append(s.prompt) }
      byPrompt[s.prompt, default: []].append(i)
    }
    let order = prompts.flatMap { byPrompt[$0]! }
    var features = [[Double]](repeating: [], count: sequences.count)
    for start in stride(from: 0, to: order.count, by: Self.fluencyBatch) {
      let batch = Array(order[start..<min(order.count, start + Self.fluencyBatch)])
      let logProbabilities = try model.responseLogProbabilities(batch.map { sequences[$0] })
      for (i, lp) in zip(batch, logProbabilities) {
        let mean = lp.isEmpty ? -20 : Double(lp.reduce(0, +)) / Double(lp.count)
        features[i] = [mean, Self.repeatedTrigramFraction(sequences[i].response), Self.distinctFraction(sequences[i].response)]
      }
    }
    return features
  }

  public func fluencyProbabilities(_ pairs: [(instruction: String, response: String)]) throws -> [Double] {
    try fluencyFeatures(pairs).map { calibration.fluency.probability($0) }
  }

  static func repeatedTrigramFraction(_ tokens: [Int]) -> Double {
    guard tokens.count >= 4 else { return 0 }
    var seen = Set<[Int]>()
    var repeated = 0
    for i in 0..<(tokens.count - 2) {
      let gram = Array(tokens[i..<(i + 3)])
      if !seen.insert(gram).inserted { repeated += 1 }
    }
    return Double(repeated) / Double(tokens.count - 2)
  }

  static func distinctFraction(_ tokens: [Int]) -> Double {
    tokens.isEmpty ? 0 : Double(Set(tokens).count) / Double(tokens.count)
  }

  /// Sentences of at least 3 characters, split at . ! ? and newlines; at most 12.
  static func sentences(_ text: String) -> [String] {
    var out: [String] = []
    var current = ""
    for c in text {
      current.append(c)
      if ".!?\n".contains(c) {
        let t = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.count >= 3 { out.append(t) }
        current = ""
      }
    }
    let t = current.trimmingCharacters(in: .whitespacesAndNewlines)
    if t.count >= 3 { out.append(t) }
    return out.count > 1 ? Array(out.prefix(12)) : []
  }
}
