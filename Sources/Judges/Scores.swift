/// AxBench's three judge scores, each on 0–2.
public struct AxBenchScores: Codable, Equatable, Sendable {
  public var concept: Double
  public var instruct: Double
  public var fluency: Double

  public init(concept: Double, instruct: Double, fluency: Double) {
    self.concept = concept
    self.instruct = instruct
    self.fluency = fluency
  }

  /// The harmonic mean of the three, 0 when any is 0 (AxBench's aggregate).
  public var harmonic: Double { Self.harmonicMean([concept, instruct, fluency]) }

  public static func harmonicMean(_ values: [Double]) -> Double {
    guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { return 0 }
    return Double(values.count) / values.reduce(0) { $0 + 1 / $1 }
  }
}

/// Persona scores, each on 0–100.
public struct PersonaScores: Codable, Equatable, Sendable {
  public var trait: Double
  public var coherence: Double

  public init(trait: Double, coherence: Double) {
    self.trait = trait
    self.coherence = coherence
  }
}

/// A response to score for a concept.
public struct AxBenchItem: Sendable, Equatable {
  public var instruction: String
  public var response: String
  public var concept: String

  public init(instruction: String, response: String, concept: String) {
    self.instruction = instruction
    self.response = response
    self.concept = concept
  }
}

/// A trait, as a persona file describes it.
public struct TraitDescription: Sendable, Equatable {
  public var name: String
  /// Prompts that elicit (pos) and suppress (neg) the trait.
  public var pairs: [(pos: String, neg: String)]
  /// The 0–100 judge prompt with {question} and {answer}.
  public var evalPrompt: String

  public init(name: String, pairs: [(pos: String, neg: String)], evalPrompt: String) {
    self.name = name
    self.pairs = pairs
    self.evalPrompt = evalPrompt
  }

  public static func == (a: TraitDescription, b: TraitDescription) -> Bool {
    a.name == b.name && a.evalPrompt == b.evalPrompt && a.pairs.map { [$0.pos, $0.neg] } == b.pairs.map { [$0.pos, $0.neg] }
  }
}

/// An answer to score for a trait.
public struct PersonaItem: Sendable, Equatable {
  public var question: String
  public var answer: String
  public var trait: TraitDescription

  public init(question: String, answer: String, trait: TraitDescription) {
    self.question = question
    self.answer = answer
    self.trait = trait
  }
}

/// Something that scores responses: the embedded judge, or an LLM behind an API.
public protocol Judge: Sendable {
  func score(_ items: [AxBenchItem]) throws -> [AxBenchScores]
  func score(_ items: [PersonaItem]) throws -> [PersonaScores]
  /// Coherence alone (0–100), for benches whose main score is not a judge's (IFEval's checkers).
  func coherence(_ items: [CoherenceItem]) throws -> [Double]
  /// Each instruction rewritten to ask the answerer to avoid its concept (the PrOSV paper's
  /// suppressed prompts), or nil where this judge does not write (the benchmark then uses templates).
  func suppress(_ items: [SuppressionItem]) throws -> [String]?
}

extension Judge {
  public func suppress(_ items: [SuppressionItem]) throws -> [String]? { nil }
}

/// An instruction and the concept a rewritten version of it must forbid.
public struct SuppressionItem: Sendable, Equatable {
  public var instruction: String
  public var concept: String

  public init(instruction: String, concept: String) {
    self.instruction = instruction
    self.concept = concept
  }
}

/// A question and an answer whose coherence is judged.
public struct CoherenceItem: Sendable, Equatable {
  public var question: String
  public var answer: String

  public init(question: String, answer: String) {
    self.question = question
    self.answer = answer
  }
}
