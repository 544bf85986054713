import Capture
import Foundation
import IFEval
import Judges
import LM

/// One concept or trait to benchmark.
public struct BenchUnit: Sendable {
  public enum Target: Sendable {
    case concept(String)
    case trait(TraitDescription)
    /// IFEval: each eval instruction's prompt with its instruction (the prompting baseline's and
    /// the `+prompt` rows' input) and the instructions its answer is checked against.
    case instructions([IFEvalPrompt])
  }

  public var bench: Benchmark
  public var id: String
  public var name: String
  public var steeringPrompt: String
  public var trainInstructions: [String]
  /// Each training instruction's own steering prompt (IFEval: varied wordings and kwargs), or nil
  /// when `steeringPrompt` steers them all.
  public var trainSteeringPrompts: [String]?
  /// AxBench: the first `selectCount` choose the factor, the rest test it. Persona: all evaluate.
  public var evalInstructions: [String]
  public var target: Target
  /// Where the steering prompt goes in the captured prompts: AxBench's and persona's prefix, or
  /// IFEval's suffix (instructions follow the query).
  public var promptPosition: PromptPosition = .prefix

  public init(
    bench: Benchmark, id: String, name: String, steeringPrompt: String, trainInstructions: [String], evalInstructions: [String],
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

  /// The steering prompt of training instruction `i`.
  public func trainSteeringPrompt(_ i: Int) -> String {
    guard let own = trainSteeringPrompts, own.indices.contains(i) else { return steeringPrompt }
    return own[i]
  }

  /// The unit's own seed: the run's seed XOR a stable hash of "bench-id". Any UInt64 may come out
  /// (half of them are 2⁶³ or more), so it travels as UInt64 everywhere it is used or written.
  public func seed(runSeed: UInt64) -> UInt64 { runSeed ^ stableHash("\(bench.rawValue)-\(id)") }

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
        bench: .axbench, id: "\(c.conceptID)", name: c.concept, steeringPrompt: SteeringPrompts.axbench(concept: c.concept),
        trainInstructions: train, evalInstructions: eval, target: .concept(c.concept))
    }
  }

  /// Persona units: the first pos instruction steers; extract questions train, eval questions test.
  public static func persona(extract: PersonaTrait, eval: PersonaTrait, config: BenchConfig) -> BenchUnit {
    BenchUnit(
      bench: .persona, id: extract.description.name, name: extract.description.name,
      steeringPrompt: extract.description.pairs.first?.pos ?? "", trainInstructions: Array(extract.questions.prefix(config.trainSamples)),
      evalInstructions: Array(eval.questions.prefix(config.personaEvalQuestions)), target: .trait(eval.description))
  }

  /// IFEval units, one per instruction id (Stolfo et al.'s format subset): the id's prompts, shuffled
  /// with the run's seed, are the eval prompts (`prompt_without_instruction` steered, `prompt` for
  /// prompting), the first half choosing the factor; base queries that are no benchmark prompt,
  /// each with its own instruction appended, are the training prompts. A training instruction has
  /// kwargs drawn as IFEval draws them (for ids outside the format subset: those of one of the id's
  /// prompts, drawn at random) and one of its wordings (`Instruction.phrasings`), drawn at random.
  /// The unit's display prompt is IFEval's phrasing with the kwargs most common among its prompts.
  public static func ifeval(
    prompts: [IFEvalBenchmarkPrompt], baseQueries: [(key: Int, query: String)], ids: [InstructionID], config: BenchConfig
  ) -> [BenchUnit] {
    let benchmarkKeys = Set(prompts.compactMap(\.item.key))
    let base = baseQueries.filter { !benchmarkKeys.contains($0.key) }.map(\.query)
    return ids.compactMap { id in
      let mine = prompts.filter { $0.item.instructions.count == 1 && $0.item.instructions[0].id == id }
      guard !mine.isEmpty else { return nil }
      var g = SeededGenerator(seed: stableHash("ifeval-\(id.rawValue)") ^ config.seed)
      let eval = Array(mine.shuffled(using: &g).prefix(config.ifevalPrompts))
      let train = Array(base.shuffled(using: &g).prefix(config.trainSamples))
      let wordings = train.map { _ in
        let instruction = id.draw(using: &g) ?? mine.randomElement(using: &g)!.item.instructions[0]
        return instruction.phrasings.randomElement(using: &g)!
      }
      // The most common phrasing among the id's prompts; ties go to the first in the file.
      var counts: [String: Int] = [:]
      for p in mine { counts[p.item.instructions[0].phrasing, default: 0] += 1 }
      let phrasing = mine.map { $0.item.instructions[0].phrasing }.max { counts[$0]! < counts[$1]! } ?? ""
      var unit = BenchUnit(
        bench: .ifeval, id: id.rawValue.replacingOccurrences(of: ":", with: "."), name: id.rawValue, steeringPrompt: phrasing,
        trainInstructions: train, evalInstructions: eval.map(\.promptWithoutInstruction), target: .instructions(eval.map(\.item)))
      unit.trainSteeringPrompts = wordings
      unit.promptPosition = .suffix
      return unit
    }
  }
}
