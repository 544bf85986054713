import Foundation
import LM

/// One method at one factor on the PrOSV paper's two further measures (AxBench units):
/// - robustness: AxBench's rubric on the unit's test instructions rewritten to ask the model to
///   avoid the concept, instruction relevance judged against the original instruction;
/// - utility: GSM8K problems solved with the steering on (greedy), and the mean per-token NLL of
///   AlpacaEval's GPT-4 answers teacher-forced under it.
public struct OperatingPoint: Codable, Equatable, Sendable {
  /// The method, or the baselines `prompt` and `none`.
  public var method: String
  /// A jointly trained vector applied at this fraction of its trained α (1, and 0.8 and 0.5 for
  /// FSSV), without selection; nil for a method at its selected factor and for the baselines.
  public var trainedAlphaFraction: Float?
  /// The factor the steering file was applied at (nil for the baselines).
  public var factor: Float?
  public var suppressed: ScoreSummary
  public var gsm8kCorrect: Int
  public var gsm8kTotal: Int
  /// Mean negative log-likelihood per token of the reference answers, in nats.
  public var referenceNLL: Double

  /// Percent solved; nil where no problem fitted the model's context.
  public var gsm8kAccuracy: Double? { gsm8kTotal == 0 ? nil : 100 * Double(gsm8kCorrect) / Double(gsm8kTotal) }

  /// Its name in reports: `NAME`, `NAME@trained`, `fssv@0.8α`.
  public var label: String { MethodLabel.text(method, trainedAlphaFraction: trainedAlphaFraction) }

  enum CodingKeys: String, CodingKey {
    case method, factor, suppressed
    case trainedAlphaFraction = "trained_alpha_fraction"
    case gsm8kCorrect = "gsm8k_correct"
    case gsm8kTotal = "gsm8k_total"
    case referenceNLL = "reference_nll"
  }

  public init(
    method: String, trainedAlphaFraction: Float? = nil, factor: Float?, suppressed: ScoreSummary, gsm8kCorrect: Int, gsm8kTotal: Int,
    referenceNLL: Double
  ) {
    self.method = method
    self.trainedAlphaFraction = trainedAlphaFraction
    self.factor = factor
    self.suppressed = suppressed
    self.gsm8kCorrect = gsm8kCorrect
    self.gsm8kTotal = gsm8kTotal
    self.referenceNLL = referenceNLL
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let parts = try MethodLabel.decode(c, method: .method, fraction: .trainedAlphaFraction)
    (method, trainedAlphaFraction) = (parts.method, parts.trainedAlphaFraction)
    factor = try c.decodeIfPresent(Float.self, forKey: .factor)
    suppressed = try c.decode(ScoreSummary.self, forKey: .suppressed)
    gsm8kCorrect = try c.decode(Int.self, forKey: .gsm8kCorrect)
    gsm8kTotal = try c.decode(Int.self, forKey: .gsm8kTotal)
    referenceNLL = try c.decode(Double.self, forKey: .referenceNLL)
  }
}

/// What the utility measures read, shared by every unit of a run: a seeded subset of GSM8K's test
/// problems and of AlpacaEval's GPT-4 answers.
public struct UtilityData: Sendable {
  public var problems: [GSM8KProblem]
  public var references: [(instruction: String, answer: String)]

  public init(problems: [GSM8KProblem], references: [(instruction: String, answer: String)]) {
    self.problems = problems
    self.references = references
  }

  /// `problems` GSM8K problems and `references` AlpacaEval answers drawn with `seed`.
  public static func draw(
    gsm8k: [GSM8KProblem], alpaca: [(instruction: String, answer: String)], problems: Int, references: Int, seed: UInt64
  ) -> UtilityData {
    var g = SeededGenerator(seed: seed ^ stableHash("utility"))
    return UtilityData(
      problems: Array(gsm8k.shuffled(using: &g).prefix(problems)), references: Array(alpaca.shuffled(using: &g).prefix(references)))
  }
}

/// Rewrites an instruction to ask the model to avoid a concept (the PrOSV paper's suppressed
/// prompts, which gpt-4o-mini wrote; these are templates, one drawn per instruction).
public enum SuppressionPrompt {
  public static let templates = [
    "{instruction}\n\nIn your answer, do not mention or allude to {concept} in any way.",
    "Without referring to {concept} at all, respond to the following: {instruction}",
    "{instruction} Make sure your response has nothing to do with {concept}.",
    "Avoid any content related to {concept}. {instruction}",
  ]

  public static func rewrite(_ instruction: String, concept: String, using generator: inout some RandomNumberGenerator) -> String {
    templates.randomElement(using: &generator)!.replacingOccurrences(of: "{concept}", with: concept)
      .replacingOccurrences(of: "{instruction}", with: instruction)
  }
}

/// Per operating point (method and fraction of the trained α), means over the units that have it.
public struct OperatingPointRow: Codable, Equatable, Sendable {
  public var method: String
  public var trainedAlphaFraction: Float?
  public var nUnits: Int
  public var suppressedHarmonic: Double
  public var suppressedCI95: Double
  public var gsm8kAccuracy: Double?
  /// GSM8K accuracy over `none`'s, in percent (nil where `none` solved nothing).
  public var gsm8kRelative: Double?
  public var referenceNLL: Double
  /// Reference NLL minus `none`'s, in nats per token.
  public var referenceNLLIncrease: Double?

  /// Its name in reports: `NAME`, `NAME@trained`, `fssv@0.8α`.
  public var label: String { MethodLabel.text(method, trainedAlphaFraction: trainedAlphaFraction) }

  public init(
    method: String, trainedAlphaFraction: Float? = nil, nUnits: Int, suppressedHarmonic: Double, suppressedCI95: Double,
    gsm8kAccuracy: Double?, gsm8kRelative: Double?, referenceNLL: Double, referenceNLLIncrease: Double?
  ) {
    self.method = method
    self.trainedAlphaFraction = trainedAlphaFraction
    self.nUnits = nUnits
    self.suppressedHarmonic = suppressedHarmonic
    self.suppressedCI95 = suppressedCI95
    self.gsm8kAccuracy = gsm8kAccuracy
    self.gsm8kRelative = gsm8kRelative
    self.referenceNLL = referenceNLL
    self.referenceNLLIncrease = referenceNLLIncrease
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let parts = try MethodLabel.decode(c, method: .method, fraction: .trainedAlphaFraction)
    (method, trainedAlphaFraction) = (parts.method, parts.trainedAlphaFraction)
    nUnits = try c.decode(Int.self, forKey: .nUnits)
    suppressedHarmonic = try c.decode(Double.self, forKey: .suppressedHarmonic)
    suppressedCI95 = try c.decode(Double.self, forKey: .suppressedCI95)
    gsm8kAccuracy = try c.decodeIfPresent(Double.self, forKey: .gsm8kAccuracy)
    gsm8kRelative = try c.decodeIfPresent(Double.self, forKey: .gsm8kRelative)
    referenceNLL = try c.decode(Double.self, forKey: .referenceNLL)
    referenceNLLIncrease = try c.decodeIfPresent(Double.self, forKey: .referenceNLLIncrease)
  }

  enum CodingKeys: String, CodingKey {
    case method
    case trainedAlphaFraction = "trained_alpha_fraction"
    case nUnits = "n_units"
    case suppressedHarmonic = "suppressed_harmonic"
    case suppressedCI95 = "suppressed_ci95"
    case gsm8kAccuracy = "gsm8k_accuracy"
    case gsm8kRelative = "gsm8k_relative"
    case referenceNLL = "reference_nll"
    case referenceNLLIncrease = "reference_nll_increase"
  }

  /// One row per operating point, in the order they first appear.
  public static func summarize(_ units: [UnitResult]) -> [OperatingPointRow] {
    var groups: [String: [OperatingPoint]] = [:]
    var order: [String] = []
    for u in units {
      for p in u.operatingPoints ?? [] {
        if groups[p.label] == nil { order.append(p.label) }
        groups[p.label, default: []].append(p)
      }
    }
    func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
    let none = groups["none"]
    let noneAccuracy = none.flatMap { n in n.compactMap(\.gsm8kAccuracy).isEmpty ? nil : mean(n.compactMap(\.gsm8kAccuracy)) }
    let noneNLL = none.map { mean($0.map(\.referenceNLL)) }
    return order.map { label in
      let points = groups[label]!
      let harmonic = points.map { $0.suppressed.harmonic ?? 0 }
      let solved = points.compactMap(\.gsm8kAccuracy)
      let accuracy: Double? = solved.isEmpty ? nil : mean(solved)
      let nll = mean(points.map(\.referenceNLL))
      return OperatingPointRow(
        method: points[0].method, trainedAlphaFraction: points[0].trainedAlphaFraction, nUnits: points.count, suppressedHarmonic: mean(harmonic), suppressedCI95: Statistics.ci95(harmonic),
        gsm8kAccuracy: accuracy, gsm8kRelative: noneAccuracy.flatMap { n in accuracy.flatMap { n > 0 ? 100 * $0 / n : nil } },
        referenceNLL: nll, referenceNLLIncrease: noneNLL.map { nll - $0 })
    }
  }
}
