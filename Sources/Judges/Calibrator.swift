import Embedding
import Foundation
import LM

/// Fits the embedded judge's calibration on labelled data and measures it on held-out data.
///
/// - Concept: thresholds on concept10 *train* (positives vs the shared negatives, against
///   every concept label); AUROC on *eval* positives vs negatives and vs hard negatives.
/// - Instruction relevance: the first 400 AlpacaEval GPT-4 answers matched vs shuffled fit
///   the thresholds; the rest are held out.
/// - Fluency: real answers vs corrupted copies (shuffled words, repeated spans).
/// - Persona: the LM's own answers under each trait's pos vs neg prompts, extract questions
///   to fit, eval questions held out.
public struct Calibrator {
  public let judge: EmbeddedJudge
  public let dataDirectory: String
  public var log: (String) -> Void = { _ in }
  /// Per-split sizes kept small enough for a 2-core machine.
  public var fluencyExamples = 60
  public var personaQuestions = 10

  public init(encoder: SentenceEncoder, model: DecoderModel, dataDirectory: String) {
    let placeholder = JudgeCalibration(
      encoderSHA256: "", languageModelSHA256: "", concept: .init(low: 0, high: 0), instruct: .init(low: 0, high: 0),
      fluency: .init(weights: [0, 0, 0], bias: 0, mean: [0, 0, 0], std: [1, 1, 1]), fluencyThresholds: .init(low: 0.3, high: 0.7),
      persona: .init(weights: [0], bias: 0, mean: [0], std: [1]), metrics: [:], created: "")
    judge = EmbeddedJudge(encoder: encoder, model: model, calibration: placeholder)
    self.dataDirectory = dataDirectory
  }

  private func path(_ relative: String) -> String { dataDirectory + "/" + relative }

  /// Concept similarities of positives, negatives (and hard negatives) of a concept10 file.
  public func conceptScores(_ file: String) throws -> (positives: [Double], negatives: [Double], hard: [Double]) {
    let examples = try BenchmarkData.axbenchExamples(path(file))
    var labels: [Int: String] = [:]
    for e in examples where e.label == "positive" { labels[e.conceptID] = e.concept }
    var pairs: [(String, String)] = []
    var kinds: [String] = []
    for e in examples {
      if e.conceptID == -1 {
        // Shared negatives count against every concept.
        for (_, label) in labels.sorted(by: { $0.key < $1.key }) {
          pairs.append((e.output, label))
          kinds.append("negative")
        }
      } else if let label = labels[e.conceptID] {
        pairs.append((e.output, label))
        kinds.append(e.label)
      }
    }
    let s = judge.conceptSimilarities(pairs)
    return (
      zip(s, kinds).filter { $0.1 == "positive" }.map(\.0), zip(s, kinds).filter { $0.1 == "negative" }.map(\.0),
      zip(s, kinds).filter { $0.1 == "hard negative" }.map(\.0)
    )
  }

  /// Matched and shuffled response–instruction similarities of AlpacaEval examples.
  public func instructScores(_ examples: [AlpacaExample]) -> (matched: [Double], shuffled: [Double]) {
    let answered = examples.filter { $0.output != nil }
    let n = answered.count
    let matched = judge.similarities(answered.map { ($0.output!, $0.instruction) })
    // A fixed derangement: each answer against the instruction n/2 places away.
    let shuffled = judge.similarities(answered.indices.map { (answered[$0].output!, answered[($0 + max(1, n / 2)) % n].instruction) })
    return (matched, shuffled)
  }

  static func corrupt(_ text: String, kind: Int, seed: UInt64) -> String {
    var words = text.split(separator: " ").map(String.init)
    var g = SeededGenerator(seed: seed)
    switch kind % 3 {
    case 0:
      words.shuffle(using: &g)
      return words.joined(separator: " ")
    case 1:
      let span = words.prefix(6).joined(separator: " ")
      return Array(repeating: span, count: 10).joined(separator: " ")
    default:
      let start = words.prefix(20).joined(separator: " ")
      let tail = words.dropFirst(20).prefix(4).joined(separator: " ")
      return start + " " + Array(repeating: tail, count: 8).joined(separator: " ")
    }
  }

  /// Fits the calibration and returns it with its held-out metrics.
  public func calibrate() throws -> JudgeCalibration {
    var metrics: [String: Double] = [:]
    log("concept: embedding concept10 train and eval")
    let train = try conceptScores("axbench/concept10_2b_l20_train.jsonl")
    let conceptLow = ROC.bestThreshold(positives: train.positives, negatives: train.negatives).threshold
    let concept = JudgeCalibration.Thresholds(low: conceptLow, high: max(conceptLow, ROC.quantile(train.negatives, 0.98)))
    let eval = try conceptScores("axbench/concept10_2b_l20_eval.jsonl")
    metrics["concept_auroc_eval"] = ROC.auroc(positives: eval.positives, negatives: eval.negatives)
    metrics["concept_auroc_eval_hard_negatives"] = ROC.auroc(positives: eval.positives, negatives: eval.hard)
    metrics["concept_accuracy_eval"] = ROC.accuracy(threshold: conceptLow, positives: eval.positives, negatives: eval.negatives)

    log("instruction relevance: embedding AlpacaEval answers")
    let alpaca = try BenchmarkData.alpaca(path("alpaca_eval/gpt4_outputs.jsonl"))
    let fit = instructScores(Array(alpaca.prefix(400)))
    let held = instructScores(Array(alpaca.dropFirst(400)))
    let instructLow = ROC.bestThreshold(positives: fit.matched, negatives: fit.shuffled).threshold
    let instruct = JudgeCalibration.Thresholds(low: instructLow, high: max(instructLow, ROC.quantile(fit.shuffled, 0.98)))
    metrics["instruct_auroc_heldout"] = ROC.auroc(positives: held.matched, negatives: held.shuffled)
    metrics["instruct_accuracy_heldout"] = ROC.accuracy(threshold: instructLow, positives: held.matched, negatives: held.shuffled)

    log("fluency: scoring real and corrupted answers with the LM")
    let real = alpaca.compactMap { a in a.output.map { (a.instruction, $0) } }
    func fluencySplit(_ slice: ArraySlice<(String, String)>) throws -> (real: [[Double]], corrupted: [[Double]]) {
      let pairs = Array(slice)
      let corrupted = pairs.enumerated().map { i, p in (p.0, Self.corrupt(p.1, kind: i, seed: UInt64(i))) }
      return (try judge.fluencyFeatures(pairs), try judge.fluencyFeatures(corrupted))
    }
    let fluencyFit = try fluencySplit(real.prefix(fluencyExamples))
    let fluencyHeld = try fluencySplit(real.dropFirst(fluencyExamples).prefix(fluencyExamples / 2))
    let fluency = JudgeCalibration.Logistic.fit(positives: fluencyFit.real, negatives: fluencyFit.corrupted)
    metrics["fluency_auroc_heldout"] = ROC.auroc(
      positives: fluencyHeld.real.map(fluency.probability), negatives: fluencyHeld.corrupted.map(fluency.probability))
    metrics["fluency_accuracy_heldout"] = ROC.accuracy(
      threshold: 0.5, positives: fluencyHeld.real.map(fluency.probability), negatives: fluencyHeld.corrupted.map(fluency.probability))

    log("persona: generating answers under pos and neg prompts")
    let persona = try personaCalibration(&metrics)

    return JudgeCalibration(
      encoderSHA256: try SHA256.hex(ofFile: judge.encoder.weightsPath), languageModelSHA256: try judge.model.fingerprint.sha256,
      concept: concept, instruct: instruct, fluency: fluency, fluencyThresholds: .init(low: 0.3, high: 0.7), persona: persona,
      metrics: metrics, created: ISO8601DateFormatter().string(from: Date()))
  }

  private func personaCalibration(_ metrics: inout [String: Double]) throws -> JudgeCalibration.Logistic {
    let traits = ["apathetic", "evil", "humorous", "impolite", "optimistic"]
    func differences(split: String) throws -> (pos: [Double], neg: [Double]) {
      var prompts: [[Int]] = []
      var owners: [(TraitDescription, String, Bool)] = []
      for name in traits {
        let t = try BenchmarkData.persona(path("persona/\(name)_\(split).json"))
        for (i, q) in t.questions.prefix(personaQuestions).enumerated() {
          let pair = t.description.pairs[i % t.description.pairs.count]
          for (instruction, isPos) in [(pair.pos, true), (pair.neg, false)] {
            prompts.append(judge.model.chatPrompt(user: "\(instruction)\n\nQuestion: \(q)"))
            owners.append((t.description, q, isPos))
          }
        }
      }
      let answers = try judge.model.generate(
        prompts: prompts, options: GenerationOptions(maxNewTokens: 64, sampling: SamplingParameters(temperature: 1, seed: 11)))
      let d = judge.traitDifferences(zip(answers, owners).map { (judge.model.tokenizer.decode($0.ids, skipSpecial: true), $1.0) })
      return (zip(d, owners).filter { $1.2 }.map(\.0), zip(d, owners).filter { !$1.2 }.map(\.0))
    }
    let fit = try differences(split: "extract")
    let held = try differences(split: "eval")
    let model = JudgeCalibration.Logistic.fit(positives: fit.pos.map { [$0] }, negatives: fit.neg.map { [$0] })
    metrics["persona_auroc_heldout"] = ROC.auroc(positives: held.pos, negatives: held.neg)
    metrics["persona_accuracy_heldout"] = ROC.accuracy(
      threshold: 0.5, positives: held.pos.map { model.probability([$0]) }, negatives: held.neg.map { model.probability([$0]) })
    return model
  }
}
