import Capture
import Foundation
import IFEval
import Judges
import LM
import PSR
import Steering
import Store

/// A generated response with its scores, one line of generations.jsonl.
public struct GenerationRecord: Codable, Sendable, CarriesScores {
  public var bench: String
  public var unit: String
  /// What `compare judge` needs to score the line again: the AxBench concept, or the persona trait's
  /// name (its file is looked up in --trait-dir).
  public var concept: String? = nil
  public var trait: String? = nil
  public var method: String
  public var factor: Float
  public var split: String
  public var instruction: String
  /// A suppressed answer of a jointly trained vector at this fraction of its trained α (the
  /// operating points `NAME@trained`, `fssv@0.8α`); nil elsewhere.
  public var trainedAlphaFraction: Float? = nil
  /// IFEval: the method steered with the instruction kept in the prompt (its `NAME+prompt` row).
  public var withInstruction = false
  /// A suppressed prompt's original instruction, which its relevance is judged against.
  public var originalInstruction: String? = nil
  public var response: String
  /// The judge's scores of this response (AxBench's or the persona's; IFEval's coherence).
  public var scores: Scores
  /// IFEval: the instructions checked, and whether the response follows all of them, strict and loose.
  public var instructionIDs: [String]? = nil
  public var followsStrict: Bool? = nil
  public var followsLoose: Bool? = nil
  /// The unit's seed (a string: 64 bits are not exact as a JSON number) and the random stream the
  /// response drew: `psr generate --seed SEED --stream STREAM` with the unit's steering file and
  /// this factor replays it.
  public var seed: String?
  public var stream: Int?

  /// The row it belongs to in reports: `NAME`, `NAME+prompt`, `NAME@trained`, `fssv@0.8α`.
  public var label: String {
    MethodLabel.text(method, trainedAlphaFraction: trainedAlphaFraction, withInstruction: withInstruction)
  }

  public init(
    bench: String, unit: String, concept: String? = nil, trait: String? = nil, method: String, trainedAlphaFraction: Float? = nil,
    withInstruction: Bool = false, factor: Float, split: String,
    instruction: String, originalInstruction: String? = nil, response: String, scores: Scores, seed: String?, stream: Int?
  ) {
    self.bench = bench
    self.unit = unit
    self.concept = concept
    self.trait = trait
    self.method = method
    self.trainedAlphaFraction = trainedAlphaFraction
    self.withInstruction = withInstruction
    self.factor = factor
    self.split = split
    self.instruction = instruction
    self.originalInstruction = originalInstruction
    self.response = response
    self.scores = scores
    self.seed = seed
    self.stream = stream
  }

  enum CodingKeys: String, CodingKey {
    case bench, unit, concept, trait, method, factor, split, instruction, response, seed, stream
    case originalInstruction = "original_instruction"
    case trainedAlphaFraction = "trained_alpha_fraction"
    case withInstruction = "with_instruction"
    case instructionIDs = "instruction_id_list"
    case followsStrict = "follows_strict"
    case followsLoose = "follows_loose"
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    bench = try c.decode(String.self, forKey: .bench)
    unit = try c.decode(String.self, forKey: .unit)
    concept = try c.decodeIfPresent(String.self, forKey: .concept)
    trait = try c.decodeIfPresent(String.self, forKey: .trait)
    let parts = try MethodLabel.decode(c, method: .method, fraction: .trainedAlphaFraction, withInstruction: .withInstruction)
    (method, trainedAlphaFraction, withInstruction) = (parts.method, parts.trainedAlphaFraction, parts.withInstruction)
    factor = try c.decode(Float.self, forKey: .factor)
    split = try c.decode(String.self, forKey: .split)
    instruction = try c.decode(String.self, forKey: .instruction)
    originalInstruction = try c.decodeIfPresent(String.self, forKey: .originalInstruction)
    response = try c.decode(String.self, forKey: .response)
    scores = try Scores(from: decoder)
    instructionIDs = try c.decodeIfPresent([String].self, forKey: .instructionIDs)
    followsStrict = try c.decodeIfPresent(Bool.self, forKey: .followsStrict)
    followsLoose = try c.decodeIfPresent(Bool.self, forKey: .followsLoose)
    seed = try c.decodeIfPresent(String.self, forKey: .seed)
    stream = try c.decodeIfPresent(Int.self, forKey: .stream)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(bench, forKey: .bench)
    try c.encode(unit, forKey: .unit)
    try c.encodeIfPresent(concept, forKey: .concept)
    try c.encodeIfPresent(trait, forKey: .trait)
    try c.encode(method, forKey: .method)
    try c.encodeIfPresent(trainedAlphaFraction, forKey: .trainedAlphaFraction)
    if withInstruction { try c.encode(withInstruction, forKey: .withInstruction) }
    try c.encode(factor, forKey: .factor)
    try c.encode(split, forKey: .split)
    try c.encode(instruction, forKey: .instruction)
    try c.encodeIfPresent(originalInstruction, forKey: .originalInstruction)
    try c.encode(response, forKey: .response)
    try scores.encode(to: encoder)
    try c.encodeIfPresent(instructionIDs, forKey: .instructionIDs)
    try c.encodeIfPresent(followsStrict, forKey: .followsStrict)
    try c.encodeIfPresent(followsLoose, forKey: .followsLoose)
    try c.encodeIfPresent(seed, forKey: .seed)
    try c.encodeIfPresent(stream, forKey: .stream)
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
  /// langdetect's profiles, loaded on the first IFEval unit.
  private var languageDetector: LanguageDetector?
  /// GSM8K problems and reference answers for AxBench's operating points (`config.utility`).
  public var utilityData: UtilityData?

  public init(model: DecoderModel, judge: any Judge, config: BenchConfig) {
    self.model = model
    self.judge = judge
    self.config = config
  }

  /// Runs `unit`, keeping its capture, each fitted method's steering file (`NAME.json`) and each
  /// finished stage (``UnitCheckpoint``) in `directory`: a unit interrupted by kill -9 goes on from
  /// its last finished stage.
  public func run(_ unit: BenchUnit, directory: String) throws -> (UnitResult, [GenerationRecord], [MethodTiming]) {
    let seed = unit.seed(runSeed: config.seed)
    let methods = config.steeringMethods
    let stages = UnitCheckpoint(unitDirectory: directory, log: log)
    // What an earlier run of this unit finished: evaluated methods, and steering files it fitted.
    var finished: [String: UnitCheckpoint.MethodStage] = [:]
    var fitted: [String: (file: SteeringFile, seconds: Double)] = [:]
    for method in methods where method.steers {
      if let f = fittedFile(method.name, unit: unit, seed: seed, directory: directory) { fitted[method.name] = f }
    }
    for method in methods {
      guard let stage = stages.method(method.name) else { continue }
      // An evaluated steering method needs its file for the operating points; without it, redo.
      if method.steers && !stage.results.isEmpty && fitted[method.name] == nil { continue }
      finished[method.name] = stage
    }
    if !finished.isEmpty || !fitted.isEmpty {
      log("\(unit.bench) \(unit.id): resuming (\(finished.count) methods evaluated, \(fitted.count) fitted by an earlier run)")
    }
    let needsCapture = methods.contains { $0.needsCapture && finished[$0.name] == nil && fitted[$0.name] == nil }
    let captureSeconds: Double
    let reader: ActivationReader?
    if needsCapture {
      (reader, captureSeconds) = try capture(unit, seed: seed, directory: directory, stages: stages)
    } else {
      (reader, captureSeconds) = (nil, stages.capture()?.seconds ?? 0)
    }
    let fit = UnitFit(model: model, config: config, unit: unit, seed: seed, capture: reader)
    fit.log = log
    var results: [MethodResult] = []
    var records: [GenerationRecord] = []
    var methodTimings: [MethodTiming] = []
    var files: [String: SteeringFile] = [:]
    for method in methods {
      if let stage = finished[method.name] {
        files[method.name] = fitted[method.name]?.file
        results += stage.results
        records += stage.records
        // A method skipped for want of data has no timing, as in an uninterrupted run.
        if !(method.steers && stage.results.isEmpty) { methodTimings.append(stage.timing) }
        continue
      }
      let file: SteeringFile?
      let fitSeconds: Double
      if let earlier = fitted[method.name] {
        (file, fitSeconds) = (earlier.file, earlier.seconds)
      } else {
        let t = Date()
        var made = try method.fit(fit)
        fitSeconds = Date().timeIntervalSince(t)
        // Recorded in the file, so that a resumed run reports the time the fit took.
        made?.training["train_seconds"] = .number(fitSeconds)
        if let made { try made.save(directory + "/\(method.name).json") }
        file = made
      }
      files[method.name] = file
      let trainSeconds = method.steers ? (method.needsCapture ? captureSeconds : 0) + fitSeconds : 0
      guard file != nil || !method.steers else {
        log("\(unit.bench) \(unit.id): \(method.name) had nothing to fit from; skipped")
        try stages.save(
          method: UnitCheckpoint.MethodStage(
            results: [], records: [],
            timing: MethodTiming(method: method.name, trainSeconds: trainSeconds, generateSeconds: 0, generatedTokens: 0, overheadPercent: nil)),
          name: method.name)
        continue
      }
      log("\(unit.bench) \(unit.id): evaluating \(method.name)")
      let started = Date()
      var generated = 0
      var mine: [MethodResult] = []
      var myRecords: [GenerationRecord] = []
      let evaluate = { (factors: [Float]) throws -> [FactorResult] in
        let (r, recs, n) = try self.evaluate(unit, method: method, file: file, factors: factors, seed: seed)
        myRecords += recs
        generated += n
        return r
      }
      if file != nil {
        let prompted = results.first { r in methods.contains { $0.promptsTheModel && $0.name == r.method } }
        mine += try steeredResults(unit, name: method.name, trained: method.reportsTrainedFactor, evaluate: evaluate, prompted: prompted)
        if case .instructions = unit.target {
          // IFEval also steers with the instruction kept in the prompt: does steering reinforce it?
          let evaluatePrompted = { (factors: [Float]) throws -> [FactorResult] in
            let (r, recs, n) = try self.evaluate(unit, method: method, file: file, factors: factors, seed: seed, prompted: true)
            myRecords += recs
            generated += n
            return r
          }
          mine += try steeredResults(unit, name: method.name, trained: false, evaluate: evaluatePrompted, prompted: prompted)
            .map { var r = $0; r.withInstruction = true; return r }
        }
      } else {
        let r = try evaluate([1])
        mine.append(
          MethodResult(method: method.name, factors: r, selectedFactor: nil, score: r[0].test ?? r[0].select, atUnitFactor: nil))
      }
      let overhead = try file.map { try self.overhead(of: $0.intervention(for: model, file: method.name), unit: unit) }
      let timing = MethodTiming(
        method: method.name, trainSeconds: trainSeconds, generateSeconds: Date().timeIntervalSince(started), generatedTokens: generated,
        overheadPercent: overhead)
      try stages.save(method: UnitCheckpoint.MethodStage(results: mine, records: myRecords, timing: timing), name: method.name)
      results += mine
      records += myRecords
      methodTimings.append(timing)
    }
    var unitResult = UnitResult(bench: unit.bench, unitID: unit.id, name: unit.name, methods: results)
    if case .concept(let concept) = unit.target, config.utility, let data = utilityData {
      // Points measured by an earlier run stand only if every method's results did too.
      let (points, pointRecords, seconds) = try operatingPoints(
        unit, concept: concept, results: results, files: files, data: data, seed: seed,
        stages: methods.allSatisfy { finished[$0.name] != nil } ? stages : nil, saving: stages)
      unitResult.operatingPoints = points
      records += pointRecords
      methodTimings.append(
        MethodTiming(method: "utility+robustness", trainSeconds: 0, generateSeconds: seconds, generatedTokens: 0, overheadPercent: nil))
    }
    return (unitResult, records, methodTimings)
  }

  /// The unit's operating points: each steered method at its selected factor, jointly trained
  /// vectors also at their trained α (`NAME@trained`, factor 1) and FSSV at 80% and 50% of it, as
  /// the PrOSV paper measures them, and `prompt` and `none`; each on the suppressed test
  /// instructions (judged with AxBench's rubric against the original instruction), GSM8K
  /// (greedy) and the reference answers' NLL. Suppressed generations go to generations.jsonl
  /// with split `suppressed`.
  func operatingPoints(
    _ unit: BenchUnit, concept: String, results: [MethodResult], files: [String: SteeringFile], data: UtilityData, seed: UInt64,
    stages: UnitCheckpoint?, saving: UnitCheckpoint
  ) throws -> ([OperatingPoint], [GenerationRecord], Double) {
    struct Point {
      var method: String
      var trainedAlphaFraction: Float? = nil
      var factor: Float?
      var label: String { MethodLabel.text(method, trainedAlphaFraction: trainedAlphaFraction) }
      var intervention: (any Intervention)?
      var prompted: Bool
    }
    var points: [Point] = []
    for r in results {
      if r.method == BenchMethod.prompt.rawValue {
        points.append(Point(method: r.method, factor: nil, intervention: nil, prompted: true))
      } else if r.method == BenchMethod.none.rawValue {
        points.append(Point(method: r.method, factor: nil, intervention: nil, prompted: false))
      } else if r.trained {
        guard let file = files[r.method] else { continue }
        let fractions: [Float] = r.method == BenchMethod.fssv.rawValue ? [1, 0.8, 0.5] : [1]
        for f in fractions {
          points.append(
            Point(
              method: r.method, trainedAlphaFraction: f, factor: f, intervention: try file.intervention(for: model, factor: f, file: r.method),
              prompted: false))
        }
      } else if let file = files[r.method], let f = r.selectedFactor {
        points.append(Point(method: r.method, factor: f, intervention: try file.intervention(for: model, factor: f, file: r.method), prompted: false))
      }
    }
    guard !points.isEmpty else { return ([], [], 0) }
    let tests = Array(unit.evalInstructions.dropFirst(config.selectCount))
    // The judge model writes them where it can (--judge openai), else the templates. Kept as a
    // stage: a model's rewrites need not come out the same twice.
    let suppressed: [String]
    if let earlier = saving.suppressed(), earlier.count == tests.count {
      suppressed = earlier
    } else {
      var g = SeededGenerator(seed: seed ^ stableHash("suppressed"))
      suppressed =
        try judge.suppress(tests.map { SuppressionItem(instruction: $0, concept: concept) })
        ?? tests.map { SuppressionPrompt.rewrite($0, concept: concept, using: &g) }
      try saving.save(suppressed: suppressed)
    }
    func prompt(_ text: String, _ point: Point) -> [Int] {
      // Prompting puts the steering prompt before the (suppressing) prompt, AxBench's prefix format.
      point.prompted
        ? model.promptPair(instruction: text, steeringPrompt: unit.steeringPrompt, position: .prefix).prompted : model.chatPrompt(user: text)
    }
    // What fits the model's context: a problem whose prompt and answer would not is left out; a
    // reference answer is cut to the room its prompt leaves.
    let limit = model.configuration.contextLength
    let problems = data.problems.filter { p in points.allSatisfy { prompt(p.question, $0).count + config.gsm8kTokens <= limit } }
    log("\(unit.bench) \(unit.id): utility and robustness of \(points.count) operating points")
    var out: [OperatingPoint] = []
    var records: [GenerationRecord] = []
    var seconds = 0.0
    let earlier = points.map { stages?.point($0.label) }
    let pending = points.indices.filter { earlier[$0] == nil }
    // The suppressed prompts of every point still to measure, sampled together (as the eval
    // generations are; a point alone has only the unit's few test instructions to batch) and judged
    // together. Generation is batch-invariant and every stream has its own seed, so a point's
    // answers do not depend on which others were pending.
    let sharedStart = Date()
    let pendingTexts = try generate(
      pending.flatMap { k in suppressed.map { (prompt($0, points[k]), points[k].intervention) } }, maxTokens: config.evalTokens,
      temperature: config.temperature, seed: seed, streams: pending.flatMap { _ in suppressed.indices.map { $0 } })
    let pendingScores = try judge.score(
      pendingTexts.indices.map { AxBenchItem(instruction: tests[$0 % tests.count], response: pendingTexts[$0], concept: concept) })
    // Each pending point's share of that time, counted in its stage.
    let sharedSeconds = Date().timeIntervalSince(sharedStart) / Double(max(1, pending.count))
    // Then one point at a time, each a stage: GSM8K (greedy) and the reference answers' NLL.
    var slot = 0
    for (k, p) in points.enumerated() {
      if let earlier = earlier[k] {
        out.append(earlier.point)
        records += earlier.records
        seconds += earlier.seconds
        continue
      }
      let started = Date()
      // Pending points come in the order of `points`, each with its tests.count answers.
      let suppressedTexts = Array(pendingTexts[slot..<(slot + tests.count)])
      let scores = Array(pendingScores[slot..<(slot + tests.count)])
      slot += tests.count
      let answers = try generate(
        problems.map { (prompt($0.question, p), p.intervention) }, maxTokens: config.gsm8kTokens, temperature: 0, seed: seed,
        streams: Array(problems.indices))
      let correct = zip(answers, problems).filter { GSM8K.isCorrect(GSM8K.truncate($0.0), target: $0.1.target) }.count
      let sequences = data.references.map {
        let x = prompt($0.instruction, p)
        return TeacherForcedSequence(
          prompt: x,
          response: Array(model.tokenizer.encode($0.answer, parseSpecial: false).prefix(max(0, min(config.referenceTokens, limit - x.count)))))
      }.filter { !$0.response.isEmpty }
      let nll = sequences.isEmpty ? 0 : Double(try model.meanResponseLoss(sequences, intervention: p.intervention))
      let point = OperatingPoint(
        method: p.method, trainedAlphaFraction: p.trainedAlphaFraction, factor: p.factor, suppressed: summary(scores), gsm8kCorrect: correct, gsm8kTotal: problems.count,
        referenceNLL: nll)
      var pointRecords: [GenerationRecord] = []
      for (i, s) in scores.enumerated() {
        pointRecords.append(
          GenerationRecord(
            bench: unit.bench.rawValue, unit: unit.id, concept: concept, method: p.method, trainedAlphaFraction: p.trainedAlphaFraction,
            factor: p.factor ?? 1, split: "suppressed",
            instruction: suppressed[i], originalInstruction: tests[i], response: suppressedTexts[i], scores: Scores(s), seed: String(seed),
            stream: i))
      }
      let took = Date().timeIntervalSince(started) + sharedSeconds
      try saving.save(point: UnitCheckpoint.PointStage(point: point, records: pointRecords, seconds: took))
      out.append(point)
      records += pointRecords
      seconds += took
    }
    return (out, records, seconds)
  }

  /// Generates every (prompt, intervention) pair, `config.generationBatch` at a time.
  private func generate(
    _ items: [([Int], (any Intervention)?)], maxTokens: Int, temperature: Float, seed: UInt64, streams: [Int]
  ) throws -> [String] {
    let options = GenerationOptions(maxNewTokens: maxTokens, sampling: SamplingParameters(temperature: temperature, seed: seed))
    var texts: [String] = []
    for start in stride(from: 0, to: items.count, by: max(1, config.generationBatch)) {
      let part = start..<min(items.count, start + max(1, config.generationBatch))
      let generations = try model.generate(
        prompts: part.map { items[$0].0 }, options: options, perSequence: part.map { items[$0].1 }, streams: Array(streams[part]))
      texts += generations.map { model.tokenizer.decode($0.ids, skipSpecial: true) }
    }
    return texts
  }

  /// The prompted model's responses to the unit's training instructions, captured at every layer
  /// that a method of the run needs, into `directory`/capture.h5, and the seconds it took. It is
  /// written as capture.h5.partial and renamed when complete; an interrupted one is continued
  /// (its header must match), a complete one is reused.
  private func capture(
    _ unit: BenchUnit, seed: UInt64, directory: String, stages: UnitCheckpoint
  ) throws -> (ActivationReader, Double) {
    let capturePath = directory + "/capture.h5"
    let partialPath = capturePath + ".partial"
    let fm = FileManager.default
    var options = CaptureOptions(
      steeringPrompt: unit.steeringPrompt, promptPosition: unit.promptPosition, layers: config.captureLayers,
      maxNewTokens: config.trainTokens, temperature: config.temperature, seed: seed, batchSize: config.captureBatch)
    options.steeringPromptPerExample = unit.trainSteeringPrompts != nil
    let capture = try ActivationCapture(model: model, options: options)
    let header = try capture.header(toolVersion: "psr-steering compare")
    if let stage = stages.capture(), fm.fileExists(atPath: capturePath) {
      do {
        // Opening it for appending checks its header against this run's; nothing is appended.
        let check = try ActivationWriter.resume(path: capturePath, expecting: header)
        try check.close()
        log("\(unit.bench) \(unit.id): reusing the capture of an earlier run")
        return (try ActivationReader(path: capturePath), stage.seconds)
      } catch {
        log("\(unit.bench) \(unit.id): the earlier capture cannot be reused (\(error)); capturing again")
      }
    }
    try? fm.removeItem(atPath: capturePath)
    let start = Date()
    var writer: ActivationWriter? = nil
    if fm.fileExists(atPath: partialPath) {
      do {
        writer = try ActivationWriter.resume(path: partialPath, expecting: header)
      } catch {
        log("\(unit.bench) \(unit.id): the interrupted capture cannot be continued (\(error)); starting it over")
        try? fm.removeItem(atPath: partialPath)
      }
    }
    let w = try writer ?? ActivationWriter.create(path: partialPath, header: header)
    log(
      "\(unit.bench) \(unit.id): capturing \(unit.trainInstructions.count) prompted responses"
        + (w.exampleCount > 0 ? " (continuing after \(w.exampleCount))" : ""))
    try capture.run(
      unit.trainInstructions.enumerated().map {
        CaptureInput(instruction: $0.element, steeringPrompt: unit.trainSteeringPrompts == nil ? nil : unit.trainSteeringPrompt($0.offset))
      }, into: w)
    try w.close()
    try fm.moveItem(atPath: partialPath, toPath: capturePath)
    let seconds = Date().timeIntervalSince(start)
    try stages.save(capture: UnitCheckpoint.CaptureStage(seconds: seconds))
    return (try ActivationReader(path: capturePath), seconds)
  }

  /// The steering file an earlier run of this unit fitted for `name`, with the seconds its fit
  /// took; nil unless it reads as a steering file for this model, unit, seed and compute.
  private func fittedFile(_ name: String, unit: BenchUnit, seed: UInt64, directory: String) -> (file: SteeringFile, seconds: Double)? {
    let path = directory + "/\(name).json"
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let file = try? SteeringFile.load(path), let fingerprint = try? model.fingerprint, file.model.sha256 == fingerprint.sha256,
      case .number(let seconds)? = file.training["train_seconds"],
      file.training["unit"] == .string(unit.id), file.training["method"] == .string(name),
      file.training["seed"] == .string(String(seed)), file.training["compute"] == .string(model.computePrecision.rawValue)
    else {
      log("\(unit.bench) \(unit.id): \(path) is not this run's fit; fitting \(name) again")
      return nil
    }
    return (file, seconds)
  }

  private func steeredResults(
    _ unit: BenchUnit, name: String, trained: Bool, evaluate: ([Float]) throws -> [FactorResult], prompted: MethodResult?
  ) throws -> [MethodResult] {
    switch unit.target {
    case .concept:
      let grid = try evaluate(config.factors)
      let best = AxBenchFactorProtocol.choose(grid)
      var out = [
        MethodResult(
          method: name, factors: grid, selectedFactor: grid[best].factor, score: grid[best].test ?? grid[best].select,
          atUnitFactor: nil)
      ]
      if trained, let one = grid.first(where: { $0.factor == 1 }) {
        out.append(
          MethodResult(
            method: name, trained: true, factors: [one], selectedFactor: 1, score: one.test ?? one.select, atUnitFactor: nil))
      }
      return out
    case .instructions:
      let grid = try evaluate(config.factors)
      let best = IFEvalFactorProtocol.choose(grid, promptingCoherence: prompted?.factors.first?.select.coherence)
      let one = grid.first { $0.factor == 1 }
      return [
        MethodResult(
          method: name, factors: grid, selectedFactor: grid[best].factor, score: grid[best].test ?? grid[best].select,
          atUnitFactor: one.map { $0.test ?? $0.select })
      ]
    case .trait:
      var evaluated = try evaluate([1])
      let atOne = evaluated[0].select
      // A factor evaluated once serves both bisections.
      func once(_ f: Float) throws -> FactorResult {
        if let seen = evaluated.first(where: { $0.factor == f }) { return seen }
        let r = try evaluate([f])[0]
        evaluated.append(r)
        return r
      }
      func bisect(_ target: Double) throws -> FactorResult {
        try CoherenceBisection.search(
          target: target, maxFactor: config.factors.max() ?? 4, steps: config.bisectionSteps, tried: evaluated, factor: { $0.factor },
          coherence: { $0.select.coherence ?? 0 }, evaluate: once
        ).best
      }
      // The trait score at coherence 80 (TA@C80), and at prompting's coherence (TA@Cp).
      let at80 = try bisect(80)
      var result = MethodResult(method: name, factors: [], selectedFactor: 1, score: atOne, atUnitFactor: atOne)
      if let target = prompted?.score.coherence {
        let best = try bisect(target)
        result.selectedFactor = best.factor
        result.score = best.select
      }
      result.atCoherence80 = at80.select
      result.coherence80Factor = at80.factor
      result.factors = evaluated.sorted { $0.factor < $1.factor }
      return [result]
    }
  }

  /// Generates every (factor, instruction) in one batch and judges the responses. Instruction i
  /// draws random stream i of the unit's seed at every factor and for every method, and each
  /// sequence is steered by `file` at its own factor, routed by its token slots: the same
  /// intervention that `psr generate --steer FILE --factor F --seed SEED --stream i` makes.
  ///
  /// `prompted` overrides the method's own choice of prompt (IFEval's `+prompt` rows). An IFEval
  /// unit's prompted input is the benchmark's prompt with its instruction, not the steering prompt.
  func evaluate(
    _ unit: BenchUnit, method: any SteeringMethod, file: SteeringFile?, factors: [Float], seed: UInt64, prompted: Bool? = nil
  ) throws -> ([FactorResult], [GenerationRecord], Int) {
    let instructions = unit.evalInstructions
    let withPrompt = prompted ?? method.promptsTheModel
    var prompts: [[Int]] = []
    var scale: [Float] = []
    var streams: [Int] = []
    for f in factors {
      for (i, instruction) in instructions.enumerated() {
        if case .instructions(let items) = unit.target {
          prompts.append(model.chatPrompt(user: withPrompt ? items[i].prompt : instruction))
          scale.append(f)
          streams.append(i)
          continue
        }
        let pair = model.promptPair(instruction: instruction, steeringPrompt: unit.steeringPrompt, position: unit.promptPosition)
        prompts.append(withPrompt ? pair.prompted : pair.unprompted)
        scale.append(f)
        streams.append(i)
      }
    }
    let perSequence: [(any Intervention)?]? = try file.map { file in
      try scale.map { try file.intervention(for: model, factor: $0, file: method.name) }
    }
    let options = GenerationOptions(
      maxNewTokens: config.evalTokens, sampling: SamplingParameters(temperature: config.temperature, seed: seed))
    var generations: [Generation] = []
    for start in stride(from: 0, to: prompts.count, by: max(1, config.generationBatch)) {
      let part = start..<min(prompts.count, start + max(1, config.generationBatch))
      generations += try model.generate(
        prompts: Array(prompts[part]), options: options, perSequence: perSequence.map { Array($0[part]) },
        streams: Array(streams[part]))
    }
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
        let select = unit.bench == .axbench ? config.selectCount : n
        results.append(
          FactorResult(factor: f, select: summary(Array(slice.prefix(select))), test: summary(Array(slice.dropFirst(select)))))
        for (i, s) in slice.enumerated() {
          records.append(
            GenerationRecord(
              bench: unit.bench.rawValue, unit: unit.id, concept: unit.name, method: method.name, factor: f, split: i < select ? "select" : "test",
              instruction: instructions[i], response: texts[fi * n + i], scores: Scores(s), seed: String(seed), stream: i))
        }
      }
    case .instructions(let items):
      if languageDetector == nil { languageDetector = try LanguageDetector.bundled() }
      let scorer = IFEvalScorer(language: languageDetector!)
      let coherence = try judge.coherence(zip(prompts.indices, texts).map { CoherenceItem(question: instructions[$0.0 % n], answer: $0.1) })
      let select = IFEvalFactorProtocol.selectCount(n)
      var strict: [Bool] = [], loose: [Bool] = []
      for (k, text) in texts.enumerated() {
        strict.append(scorer.verdict(items[k % n], response: text, mode: .strict).follow_all_instructions)
        loose.append(scorer.verdict(items[k % n], response: text, mode: .loose).follow_all_instructions)
      }
      func summary(_ range: Range<Int>) -> ScoreSummary? {
        guard !range.isEmpty else { return nil }
        let m = Double(range.count)
        return ScoreSummary(
          n: range.count, coherence: range.map { coherence[$0] }.reduce(0, +) / m,
          ifStrict: 100 * Double(range.filter { strict[$0] }.count) / m, ifLoose: 100 * Double(range.filter { loose[$0] }.count) / m)
      }
      for (fi, f) in factors.enumerated() {
        let base = fi * n
        results.append(
          FactorResult(factor: f, select: summary(base..<(base + select)) ?? ScoreSummary(n: 0), test: summary((base + select)..<(base + n))))
        for i in 0..<n {
          var r = GenerationRecord(
            bench: unit.bench.rawValue, unit: unit.id, method: method.name, withInstruction: withPrompt && prompted == true, factor: f,
            split: i < select ? "select" : "test", instruction: withPrompt ? items[i].prompt : instructions[i], response: texts[base + i],
            scores: Scores(coherence: coherence[base + i]), seed: String(seed), stream: i)
          r.instructionIDs = items[i].instructions.map(\.id.rawValue)
          r.followsStrict = strict[base + i]
          r.followsLoose = loose[base + i]
          records.append(r)
        }
      }
    case .trait(let trait):
      let scores = try judge.score(
        zip(prompts.indices, texts).map { PersonaItem(question: instructions[$0.0 % n], answer: $0.1, trait: trait) })
      for (fi, f) in factors.enumerated() {
        let slice = Array(scores[(fi * n)..<((fi + 1) * n)])
        results.append(
          FactorResult(
            factor: f,
            select: slice.isEmpty ? ScoreSummary(n: 0, traitScore: 0, coherence: 0) : ScoreSummary(of: slice.map(Scores.init)),
            test: nil))
        for (i, s) in slice.enumerated() {
          records.append(
            GenerationRecord(
              bench: unit.bench.rawValue, unit: unit.id, trait: unit.id, method: method.name, factor: f, split: "eval", instruction: instructions[i],
              response: texts[fi * n + i], scores: Scores(s), seed: String(seed), stream: i))
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

  /// The mean of AxBench judgements; an empty set (no test instructions) scores 0.
  private func summary(_ scores: [AxBenchScores]) -> ScoreSummary {
    scores.isEmpty
      ? ScoreSummary(n: 0, conceptScore: 0, instructScore: 0, fluencyScore: 0, harmonic: 0) : ScoreSummary(of: scores.map(Scores.init))
  }
}
