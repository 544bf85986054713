import Capture
import Foundation
import Judges
import LM
import PSR
import Steering
import Store

/// A generated response with its scores, one line of generations.jsonl.
public struct GenerationRecord: Codable, Sendable {
  public var bench: String
  public var unit: String
  public var method: String
  public var factor: Double
  public var split: String
  public var instruction: String
  public var response: String
  public var conceptScore: Double?
  public var instructScore: Double?
  public var fluencyScore: Double?
  public var harmonic: Double?
  public var traitScore: Double?
  public var coherence: Double?

  enum CodingKeys: String, CodingKey {
    case bench, unit, method, factor, split, instruction, response
    case conceptScore = "concept_score"
    case
      instructScore = "instruct_score"
    case fluencyScore = "fluency_score"
    case harmonic
    case traitScore = "trait_score"
    case coherence
  }
}

/// Wall time and generated tokens of a method on a unit (kept out of results.json, which
/// must be reproducible).
public struct MethodTiming: Codable, Sendable {
  public var method: String
  public var trainSeconds: Double
  public var generateSeconds: Double
  public var generatedTokens: Int
  /// Time inside the method's intervention over the rest of the decode time, in percent, on
  /// 8 streams × 16 tokens (greedy).
  public var overheadPercent: Double?
}

/// Runs every method on one unit: capture → S-PSR and DiffMean, FSSV and PrOSV training on
/// the same (x, y′) pairs, then batched generation over all factors, judging, and factor
/// selection (AxBench) or coherence matching (persona).
public final class BenchRunner {
  public let model: DecoderModel
  public let judge: any Judge
  public let config: BenchConfig
  public var log: (String) -> Void = { _ in }

  public init(model: DecoderModel, judge: any Judge, config: BenchConfig) {
    self.model = model
    self.judge = judge
    self.config = config
  }

  /// Runs `unit`, keeping its capture and steering files in `directory`.
  public func run(_ unit: BenchUnit, directory: String) throws -> (UnitResult, [GenerationRecord], [MethodTiming]) {
    let seed = config.seed ^ stableHash("\(unit.bench)-\(unit.id)")
    var steering: [String: any Intervention] = [:]
    var timings: [String: Double] = [:]
    let trained = Set(config.methods).intersection(["psr", "apsr", "diffmean", "prosv", "fssv"])
    if !trained.isEmpty {
      let start = Date()
      let capturePath = directory + "/capture.h5"
      try? FileManager.default.removeItem(atPath: capturePath)
      let capture = try ActivationCapture(
        model: model,
        options: CaptureOptions(
          steeringPrompt: unit.steeringPrompt, promptPosition: .prefix, layers: config.captureLayers, maxNewTokens: config.trainTokens,
          temperature: config.temperature, seed: seed, batchSize: 16))
      let writer = try ActivationWriter.create(path: capturePath, header: try capture.header(toolVersion: "psr-steering compare"))
      log("\(unit.bench) \(unit.id): capturing \(unit.trainInstructions.count) prompted responses")
      try capture.run(unit.trainInstructions.map { CaptureInput(instruction: $0) }, into: writer)
      try writer.close()
      let reader = try ActivationReader(path: capturePath)
      let captureSeconds = Date().timeIntervalSince(start)
      if trained.contains("psr") || trained.contains("diffmean") {
        let t = Date()
        let layerData = try CapturedLayer(
          reader: reader, layer: config.layer, validationFraction: reader.exampleCount >= 5 ? 0.2 : 0, seed: seed)
        var options = PSRFitOptions()
        options.seed = seed
        let (gate, _) = SinglePSRFit(data: layerData, options: options).fit()
        steering["psr"] = PSRGate(gates: [gate])
        steering["diffmean"] = AdditiveVector(layer: config.layer, alpha: 1, vector: ConstantBaselines.diffMean(layerData), positions: .all)
        timings["psr"] = captureSeconds + Date().timeIntervalSince(t)
        timings["diffmean"] = timings["psr"]
      }
      if trained.contains("apsr") {
        let t = Date()
        log("\(unit.bench) \(unit.id): fitting A-PSR at layers \(config.apsrLayers)")
        steering["apsr"] = try fitAllLayers(reader, seed: seed)
        timings["apsr"] = captureSeconds + Date().timeIntervalSince(t)
      }
      let pairs = try reader.teacherForcedSequences(model: model).filter { !$0.response.isEmpty }
      for kind in [SteeringKind.prosv, .fssv] where trained.contains(kind.rawValue) && !pairs.isEmpty {
        let t = Date()
        var o = SteeringVectorTrainingOptions.defaults(kind: kind, layer: config.layer)
        o.epochs = config.steeringVectorEpochs
        o.batchSize = min(o.batchSize, pairs.count)
        o.maxResponseTokens = config.trainTokens
        o.seed = seed
        log("\(unit.bench) \(unit.id): training \(kind.rawValue)")
        steering[kind.rawValue] = try SteeringVectorTrainer(model: model, options: o).train(pairs)
        timings[kind.rawValue] = captureSeconds + Date().timeIntervalSince(t)
      }
    }
    for (name, path) in config.steeringFiles {
      steering[name] = try SteeringFile.load(path, for: model).intervention(for: model, file: path)
    }
    var results: [MethodResult] = []
    var records: [GenerationRecord] = []
    var methodTimings: [MethodTiming] = []
    for method in config.methods {
      log("\(unit.bench) \(unit.id): evaluating \(method)")
      let start = Date()
      var generated = 0
      let evaluate = { (factors: [Float]) throws -> [FactorResult] in
        let (r, recs, n) = try self.evaluate(unit, method: method, intervention: steering[method], factors: factors, seed: seed)
        records += recs
        generated += n
        return r
      }
      if method == "prompt" || method == "none" {
        let r = try evaluate([1])
        results.append(MethodResult(method: method, factors: r, selectedFactor: nil, score: r[0].test ?? r[0].select, atUnitFactor: nil))
      } else if steering[method] != nil {
        results += try steeredResults(unit, method: method, evaluate: evaluate, prompted: results.first { $0.method == "prompt" })
      }
      methodTimings.append(
        MethodTiming(
          method: method, trainSeconds: timings[method] ?? 0, generateSeconds: Date().timeIntervalSince(start), generatedTokens: generated,
          overheadPercent: try steering[method].map { try overhead(of: $0, unit: unit) }))
    }
    return (UnitResult(bench: unit.bench, unitID: unit.id, name: unit.name, methods: results), records, methodTimings)
  }

  /// A-PSR: gates at every A-PSR layer, fitted jointly through the model to the prompted
  /// states (MSE), from the per-layer mean-delta increments.
  private func fitAllLayers(_ reader: ActivationReader, seed: UInt64) throws -> PSRGate {
    var fitter = ModelPSRFit(model: model, layers: config.apsrLayers, objective: .mse)
    fitter.epochs = config.apsrEpochs
    fitter.seed = seed
    let examples = try ModelPSRFit.examples(reader, model: model, layers: fitter.layers).filter { !$0.sequence.response.isEmpty }
    let gates = try fitter.fit(examples, from: try fitter.initialGates(reader))
    return PSRGate(gates: gates)
  }

  private func steeredResults(
    _ unit: BenchUnit, method: String, evaluate: ([Float]) throws -> [FactorResult], prompted: MethodResult?
  ) throws -> [MethodResult] {
    switch unit.target {
    case .concept:
      let grid = try evaluate(config.factors)
      let best = AxBenchFactorProtocol.choose(grid)
      var out = [
        MethodResult(
          method: method, factors: grid, selectedFactor: grid[best].factor, score: grid[best].test ?? grid[best].select, atUnitFactor: nil)
      ]
      if method == "prosv" || method == "fssv", let one = grid.first(where: { $0.factor == 1 }) {
        // Jointly trained vectors at their trained α, with no selection.
        out.append(
          MethodResult(method: method + "@trained", factors: [one], selectedFactor: 1, score: one.test ?? one.select, atUnitFactor: nil))
      }
      return out
    case .trait:
      var evaluated = try evaluate([1])
      let atOne = evaluated[0].select
      // Bisect the factor so that coherence matches prompting's (TA@Cp).
      if let target = prompted?.score.coherence {
        let (best, tried) = try CoherenceBisection.search(
          target: target, maxFactor: config.factors.max() ?? 4, steps: config.bisectionSteps, tried: evaluated,
          factor: { Float($0.factor) },
          coherence: { $0.select.coherence ?? 0 }, evaluate: { try evaluate([$0])[0] })
        evaluated = tried
        return [MethodResult(method: method, factors: evaluated, selectedFactor: best.factor, score: best.select, atUnitFactor: atOne)]
      }
      return [MethodResult(method: method, factors: evaluated, selectedFactor: 1, score: atOne, atUnitFactor: atOne)]
    }
  }

  /// Generates every (factor, instruction) in one batch and judges the responses.
  func evaluate(
    _ unit: BenchUnit, method: String, intervention: (any Intervention)?, factors: [Float], seed: UInt64
  ) throws -> ([FactorResult], [GenerationRecord], Int) {
    let instructions = unit.evalInstructions
    var prompts: [[Int]] = []
    var scale: [Float] = []
    var streams: [Int] = []
    for f in factors {
      for (i, instruction) in instructions.enumerated() {
        let pair = model.promptPair(instruction: instruction, steeringPrompt: unit.steeringPrompt, position: .prefix)
        prompts.append(method == "prompt" ? pair.prompted : pair.unprompted)
        scale.append(f)
        // The same instruction draws the same random stream at every factor and for every method.
        streams.append(i)
      }
    }
    // Each sequence steered at its own factor, routed by its token slots (no copy of the states).
    let perSequence: [(any Intervention)?]? = try intervention.map { inner in
      guard let scalable = inner as? any ScalableIntervention else {
        throw TrainingError.invalidOptions("\(method): its intervention has no strength to sweep")
      }
      return scale.map { scalable.scaled(by: $0) }
    }
    let generations = try model.generate(
      prompts: prompts,
      options: GenerationOptions(
        maxNewTokens: config.evalTokens, sampling: SamplingParameters(temperature: config.temperature, seed: seed)),
      perSequence: perSequence, streams: streams)
    let texts = generations.map { model.tokenizer.decode($0.ids, skipSpecial: true) }
    let tokens = generations.reduce(0) { $0 + $1.ids.count }
    var results: [FactorResult] = []
    var records: [GenerationRecord] = []
    let n = instructions.count
    switch unit.target {
    case .concept(let concept):
      let scores = try judge.score(
        zip(prompts.indices, texts).map { AxBenchItem(instruction: instructions[$0.0 % n], response: $0.1, concept: concept) })
      for (fi, f) in factors.enumerated() {
        let slice = Array(scores[(fi * n)..<((fi + 1) * n)])
        let select = unit.bench == "axbench" ? config.selectCount : n
        results.append(
          FactorResult(factor: Double(f), select: summary(Array(slice.prefix(select))), test: summary(Array(slice.dropFirst(select)))))
        for (i, s) in slice.enumerated() {
          records.append(
            GenerationRecord(
              bench: unit.bench, unit: unit.id, method: method, factor: Double(f), split: i < select ? "select" : "test",
              instruction: instructions[i], response: texts[fi * n + i], conceptScore: s.concept, instructScore: s.instruct,
              fluencyScore: s.fluency, harmonic: s.harmonic))
        }
      }
    case .trait(let trait):
      let scores = try judge.score(
        zip(prompts.indices, texts).map { PersonaItem(question: instructions[$0.0 % n], answer: $0.1, trait: trait) })
      for (fi, f) in factors.enumerated() {
        let slice = Array(scores[(fi * n)..<((fi + 1) * n)])
        let mean = { (k: KeyPath<PersonaScores, Double>) in slice.map { $0[keyPath: k] }.reduce(0, +) / Double(max(1, slice.count)) }
        results.append(
          FactorResult(
            factor: Double(f), select: ScoreSummary(n: slice.count, traitScore: mean(\.trait), coherence: mean(\.coherence)), test: nil))
        for (i, s) in slice.enumerated() {
          records.append(
            GenerationRecord(
              bench: unit.bench, unit: unit.id, method: method, factor: Double(f), split: "eval", instruction: instructions[i],
              response: texts[fi * n + i], traitScore: s.trait, coherence: s.coherence))
        }
      }
    }
    return (results, records, tokens)
  }

  /// Per-token decode overhead of an intervention, in percent: the time spent inside its
  /// edits over the rest of the decode time, on 8 streams × 16 tokens (greedy).
  func overhead(of intervention: any Intervention, unit: BenchUnit) throws -> Double {
    let prompts = Array(repeating: model.chatPrompt(user: unit.evalInstructions.first ?? "Hello"), count: 8)
    let options = GenerationOptions(maxNewTokens: 16, stopTokens: [])
    let timed = TimedIntervention(intervention)
    let start = Date()
    _ = try model.generate(prompts: prompts, options: options, intervention: timed)
    let total = Date().timeIntervalSince(start)
    return timed.seconds / max(1e-9, total - timed.seconds) * 100
  }

  private func summary(_ scores: [AxBenchScores]) -> ScoreSummary {
    let n = Double(max(1, scores.count))
    return ScoreSummary(
      n: scores.count, conceptScore: scores.reduce(0) { $0 + $1.concept } / n, instructScore: scores.reduce(0) { $0 + $1.instruct } / n,
      fluencyScore: scores.reduce(0) { $0 + $1.fluency } / n, harmonic: scores.reduce(0) { $0 + $1.harmonic } / n)
  }
}
