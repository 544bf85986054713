import Capture
import Foundation
import Judges
import LM

/// One concept or trait to benchmark.
public struct BenchUnit: Sendable {
  public enum Target: Sendable {
    case concept(String)
    case trait(TraitDescription)
  }

  public var bench: String
  public var id: String
  public var name: String
  public var steeringPrompt: String
  public var trainInstructions: [String]
  /// AxBench: the first `selectCount` choose the factor, the rest test it. Persona: all evaluate.
  public var evalInstructions: [String]
  public var target: Target

  public init(
    bench: String, id: String, name: String, steeringPrompt: String, trainInstructions: [String], evalInstructions: [String],
    target: Target
  ) {
    self.bench = bench
    self.id = id
    self.name = name
    self.steeringPrompt = steeringPrompt
    self.trainInstructions = trainInstructions
    self.evalInstructions = evalInstructions
    self.target = target
  }

  /// The unit's own seed: the run's seed XOR a stable hash of "bench-id". Any UInt64 may come out
  /// (half of them are 2⁶³ or more), so it travels as UInt64 everywhere it is used or written.
  public func seed(runSeed: UInt64) -> UInt64 { runSeed ^ stableHash("\(bench)-\(id)") }

  /// AxBench units: training instructions from the concept10 pool, eval instructions drawn
  /// from AlpacaEval with a generator seeded by the concept id.
  public static func axbench(
    concepts: [AxBenchConcept], instructionPool: [String], alpaca: [String], config: BenchConfig
  ) -> [BenchUnit] {
    concepts.map { c in
      var g = SeededGenerator(seed: stableHash("axbench-\(c.conceptID)") ^ config.seed)
      let train = Array(instructionPool.shuffled(using: &g).prefix(config.trainSamples))
      let eval = Array(alpaca.shuffled(using: &g).prefix(config.evalInstructions))
      return BenchUnit(
        bench: "axbench", id: "\(c.conceptID)", name: c.concept, steeringPrompt: SteeringPrompts.axbench(concept: c.concept),
        trainInstructions: train, evalInstructions: eval, target: .concept(c.concept))
    }
  }

  /// Persona units: the first pos instruction steers; extract questions train, eval questions test.
  public static func persona(extract: PersonaTrait, eval: PersonaTrait, config: BenchConfig) -> BenchUnit {
    BenchUnit(
      bench: "persona", id: extract.description.name, name: extract.description.name,
      steeringPrompt: extract.description.pairs.first?.pos ?? "", trainInstructions: Array(extract.questions.prefix(config.trainSamples)),
      evalInstructions: Array(eval.questions.prefix(config.personaEvalQuestions)), target: .trait(eval.description))
  }
}
