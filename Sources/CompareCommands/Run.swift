import ArgumentParser
import CLICommon
import Compare
import Foundation
import IFEval
import Judges
import LM
import PSR
import Report
import Steering

public struct Run: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "run",
    abstract:
      "Benchmark PSR, PrOSV, FSSV, DiffMean and prompting on AxBench concepts, persona traits and IFEval instructions (the default command).",
    discussion: """
      Per concept (AxBench): the steering prompt is AxBench's template; the prompted model answers training \
      instructions from the concept10 pool (capture), S-PSR and DiffMean are fitted to the capture, and FSSV and \
      PrOSV are trained on the same pairs. Every method then answers AlpacaEval instructions (seeded by the \
      concept id) at every factor; the factor is chosen on half of them and scored on the other half.
      Per trait (persona): the pos instruction steers, extract questions train, eval questions test, and each \
      method's factor is bisected to match prompting's coherence.
      Per instruction (IFEval, Stolfo et al.'s format subset): IFEval's phrasing of the instruction, appended to base \
      queries, steers the capture; every method answers the id's prompts without the instruction (steering instead \
      of the prompt) and, steered, with it (rows NAME+prompt); IFEval's checkers score the answers (strict and loose) \
      and the judge their coherence. The factor is the most accurate on half of the prompts among those at least as \
      coherent as prompting, scored on the other half.
      Per concept, also (unless --no-utility) each method's utility and robustness at its selected factor (and \
      trained α): GSM8K solved greedily with the steering on, the NLL of AlpacaEval's GPT-4 answers under it, and \
      AxBench's score on the test instructions rewritten to forbid the concept (report.md's utility.svg).
      Per trait, the trait score at coherence 80 (TA@C80) beside the one at prompting's coherence.

      Output in --out: results.json (schema in docs/COMPARE.md), generations.jsonl, report.md, report.html (open it \
      in a browser: tables, the interactive trade-off plots, a generations browser, each unit's PSR gate activity), tradeoff.svg, \
      and units/ with each unit's capture and files. --resume skips finished units and continues an unfinished one. --shard i/N runs every \
      N-th unit from i, so that array jobs (Slurm --array) can split a run; `compare merge` combines them.

      Examples:
        compare --bench axbench,persona,ifeval --out out/small
        compare --bench ifeval --methods prompt,psr,diffmean,diffmean-last,diffmean-proj,none --out out/ifeval
        compare --bench axbench --budget paper --concepts 10 --out out/paper
        compare --bench axbench --concept-ids 3,17 --methods prompt,psr,none --out out/two
        compare --bench axbench --concepts 1 --methods prompt,prosv,prosv-simpo,none --out out/simpo
        compare --bench axbench --budget paper --methods prompt,psr,apsr,prosv,fssv,diffmean,none --out out/apsr
        compare --bench axbench --budget paper --concepts 500 --shard 3/50 --out out/c500
        compare --bench axbench --methods prompt,none --shard 0/2 --out out/shard-0
        compare --bench axbench --methods prompt,none --shard 1/2 --out out/shard-1
        compare --bench persona --methods prompt,psr,none --steer evil-cvec=examples/evil.cvec.gguf --out out/cvec
      """)

  @OptionGroup var modelOptions: ModelOptions
  @OptionGroup var judgeOptions: JudgeOptions
  @OptionGroup var memory: MemoryBudgetOption
  @Option(
    help: "Benches, comma-separated: axbench, persona, ifeval (default: axbench and persona).",
    transform: Check.list(of: Benchmark.self, "--bench"))
  public var bench: [Benchmark] = [.axbench, .persona]
  @Option(help: "small (minutes; a few concepts, one trait, short responses) or paper (the full protocol).") public var budget = Budget.small
  @Option(
    help:
      "Methods, comma-separated: prompt, psr, apsr, prosv, fssv, prosv-simpo, fssv-simpo, diffmean, diffmean-last, diffmean-proj, none (default: all but apsr, the A-PSR fit through the model, the -simpo vectors, trained with SimPO instead of the LM loss, and diffmean-last and diffmean-proj, DiffMean at the last prompt token as Stolfo et al. compute it, added or setting each state's projection).",
    transform: Check.list(of: BenchMethod.self, "--methods"))
  public var methods: [BenchMethod]?
  @Option(help: "Concept list (JSON Lines with concept_id and concept).") var conceptFile =
    "experiments/data/axbench/concept500_2b_l20.jsonl"
  @Option(help: "Use the first N concepts (default: 2 small, 10 paper).") var concepts: Int?
  // Named explicitly: ArgumentParser would derive --concept-i-ds from `conceptIDs`.
  @Option(name: .customLong("concept-ids"), help: "Use these concept ids, comma-separated.") var conceptIDs: String?
  @Option(help: "AxBench training-instruction pool.") var instructionPool = "experiments/data/axbench/concept10_2b_l20_train.jsonl"
  @Option(help: "AlpacaEval instructions for evaluation.") var alpaca = "experiments/data/alpaca_eval/instructions.jsonl"
  @Option(help: "Persona traits: names under --persona-dir, comma-separated (default: 1 small, all 5 paper).") var traits: String?
  @Option(help: "Directory of {trait}_extract.json and {trait}_eval.json files.") var personaDir = "experiments/data/persona"
  @Option(help: "IFEval prompts with their instruction and without it (Stolfo et al.'s format subset).") var ifevalData =
    "experiments/data/ifeval/format_single_instruction.jsonl"
  @Option(help: "IFEval's queries with their instructions removed: the training prompts' base.") var ifevalBase =
    "experiments/data/ifeval/ifeval_without_instructions.jsonl"
  @Option(
    help: "IFEval instruction ids, comma-separated (default: punctuation:no_comma and change_case:english_lowercase small, all paper).")
  var instructions: String?
  @Option(help: "IFEval prompts per instruction, half selecting the factor (default: 4 small, all paper).") var ifevalPrompts: Int?
  @Option(
    help:
      "What psr and apsr minimise on IFEval units: ll (the prompted responses' log-likelihood, the paper's choice here), mse (psr: at the steered layer, from the capture), or mse-through (psr: at the steered and every later layer, through the model; the capture then holds those layers)."
  )
  var ifevalPsrObjective = PSRObjective.ll
  @Flag(
    inversion: .prefixedNo,
    help: "AxBench: measure each method's utility (GSM8K, reference-answer NLL) and robustness (suppressed prompts).")
  var utility = true
  @Option(help: "GSM8K test problems (question, answer ending in '#### N').") var gsm8kData = "experiments/data/gsm8k/test.jsonl"
  @Option(help: "GSM8K problems per operating point (default: 4 small, 100 paper).") var gsm8kProblems: Int?
  @Option(help: "AlpacaEval GPT-4 answers (id, instruction, output) for the reference NLL.") var referenceData =
    "experiments/data/alpaca_eval/gpt4_outputs.jsonl"
  @Option(help: "Reference answers per operating point (default: 8 small, 100 paper).") var referenceAnswers: Int?
  @Option(help: "Layer to steer.") var layer = 15
  @Option(help: "A-PSR layers, comma-separated (method apsr; default: every third layer from 3 to 27).") var apsrLayers: String?
  @Option(help: "Training samples per unit (overrides the budget).") var trainSamples: Int?
  @Option(help: "Steering factors, comma-separated (overrides the budget).") var factors: String?
  @Option(
    help: ArgumentHelp(
      "Also benchmark this steering file or llama.cpp/repeng control vector (GGUF) as a method named NAME (default: the file name); repeatable. The same file steers every unit, with the factor chosen as for the other methods.",
      valueName: "[NAME=]FILE"))
  var steer: [String] = []
  @Option(help: "Output directory.") var out = "out/compare"
  @Option(help: "Random seed.") var seed: UInt64 = 0
  @Flag(
    help:
      "Continue the run in --out: units that already have results are skipped (and named), and an unfinished unit goes on from its last finished stage (capture, fits, each method, each operating point)."
  ) var resume = false
  @Flag(help: "Start over in an --out that holds another run (its units/ are removed).") var force = false
  @Option(help: "Run shard i of N (i/N, 0-based).") var shard = "0/1"

  private var parsedShard: ShardSpec? { ShardSpec(parsing: shard) }

  public func validate() throws {
    if parsedShard == nil { throw ValidationError("--shard must be i/N with 0 ≤ i < N ≤ \(ShardSpec.largestCount), not '\(shard)'") }
    if let apsrLayers { _ = try Check.integers(apsrLayers, "--apsr-layers") }
    if let conceptIDs { _ = try Check.integers(conceptIDs, "--concept-ids") }
    if let factors { _ = try Check.numbers(factors, "--factors") }
    if let traits {
      // A trait name becomes a file name and a unit folder (units/persona-NAME): any UTF-8 will do
      // except what would leave that folder or end the path.
      _ = try Check.list(traits, "--traits", expecting: "a trait name (no '/', NUL or '..')") {
        $0.isEmpty || $0 == "." || $0 == ".." || $0.utf8.contains(UInt8(ascii: "/")) || $0.utf8.contains(0) ? nil : $0
      }
    }
    try Check.within(concepts, 1...100_000, "--concepts")
    try Check.within(trainSamples, 1...1_000_000, "--train-samples")
    try Check.within(ifevalPrompts, 2...100_000, "--ifeval-prompts")
    try Check.within(gsm8kProblems, 1...100_000, "--gsm8k-problems")
    try Check.within(referenceAnswers, 1...100_000, "--reference-answers")
    _ = try instructionIDs()
    try Check.atLeast(layer, 0, "--layer")
    if out.isEmpty { throw ValidationError("--out is empty") }
    _ = try steeringFiles()
  }

  /// --instructions as IFEval ids; nil for the budget's default.
  private func instructionIDs() throws -> [InstructionID]? {
    guard let instructions else { return nil }
    return try Check.list(instructions, "--instructions", expecting: "an IFEval instruction id (e.g. punctuation:no_comma)") {
      InstructionID(rawValue: $0)
    }
  }

  /// --steer entries as method name → path; names must not clash with the built-in methods.
  private func steeringFiles() throws -> [String: String] {
    var files: [String: String] = [:]
    for entry in steer {
      let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
      let path = parts.last ?? ""
      var name = parts.count == 2 ? parts[0] : URL(fileURLWithPath: path).lastPathComponent
      for suffix in [".json", ".gguf"] where parts.count == 1 && name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
      guard !path.isEmpty, !name.isEmpty else { throw ValidationError("--steer '\(entry)' must be FILE or NAME=FILE") }
      guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
        throw ValidationError("--steer name '\(name)' may hold only letters, digits, '-', '_' and '.'")
      }
      // No '@' either, so a user's name never reads as a report label (`NAME@trained`, `fssv@0.8α`).
      guard !BenchConfig.allMethods.contains(name), files[name] == nil else {
        throw ValidationError("--steer name '\(name)' is already a method; give it another with NAME=FILE")
      }
      files[name] = path
    }
    return files
  }

  /// Capture and generation batches that fit the memory budget, from the units' longest
  /// prompts; an error before any work when not even one sequence fits.
  private func fitBatches(_ config: inout BenchConfig, model: DecoderModel, units: [BenchUnit]) throws {
    func longest(_ instructions: (BenchUnit) -> [String], training: Bool = false) -> Int {
      units.flatMap { unit in
        instructions(unit).enumerated().map {
          // Training instructions may carry their own wording of the steering prompt.
          let prompt = training ? unit.trainSteeringPrompt($0.offset) : unit.steeringPrompt
          return model.promptPair(instruction: $0.element, steeringPrompt: prompt, position: .prefix).prompted.count
        }
      }.max() ?? 0
    }
    let budget = memory.bytes
    func fit(_ name: String, requested: Int, tokens: Int, sequences: Int, layers: Int) throws -> Int {
      guard let batch = model.batchSize(requested: requested, budget: budget, tokens: tokens, sequences: sequences, recordedLayers: layers)
      else {
        throw CLIError(
          "--memory-budget \(MemoryBudgetOption.describe(budget)) does not fit one \(name) sequence of \(tokens) tokens beside the weights (\(MemoryBudgetOption.describe(model.weightBytes))); raise it"
        )
      }
      return batch
    }
    config.captureBatch = try fit(
      "capture", requested: config.captureBatch, tokens: longest(\.trainInstructions, training: true) + config.trainTokens, sequences: 2,
      layers: config.captureLayers.count)
    config.generationBatch = try fit(
      "generation", requested: Int.max, tokens: longest(\.evalInstructions) + config.evalTokens, sequences: 1, layers: 0)
    let largest = config.factors.count * (units.map(\.evalInstructions.count).max() ?? 0)
    if config.generationBatch < largest || config.captureBatch < 16 {
      log(
        "memory budget \(MemoryBudgetOption.describe(budget)): captures in batches of \(config.captureBatch), generations in batches of \(min(largest, config.generationBatch))"
      )
    }
  }

  public func run() throws {
    var config = budget == .paper ? BenchConfig.paper : BenchConfig.small
    config.layer = layer
    config.seed = seed
    if let methods { config.methods = methods.map(\.rawValue) }
    if let trainSamples { config.trainSamples = trainSamples }
    if let ifevalPrompts { config.ifevalPrompts = ifevalPrompts }
    config.utility = utility && bench.contains(.axbench)
    if let gsm8kProblems { config.gsm8kProblems = gsm8kProblems }
    if let referenceAnswers { config.referenceAnswers = referenceAnswers }
    config.ifevalPSRObjective = ifevalPsrObjective
    if let factors { config.factors = try Check.numbers(factors, "--factors").map(Float.init) }
    let model = try modelOptions.load()
    config.modelLayerCount = model.configuration.layerCount
    config.steeringFiles = try steeringFiles().mapValues(resolvePath)
    for (name, path) in config.steeringFiles.sorted(by: { $0.key < $1.key }) {
      do { _ = try SteeringFile.load(path, for: model).intervention(for: model, file: path) } catch {
        throw CLIError("--steer \(name): \(error)")
      }
      config.methods.append(name)
    }
    if let apsrLayers { config.apsrLayers = try Check.integers(apsrLayers, "--apsr-layers") }
    for l in [layer] + (config.methods.contains("apsr") ? config.apsrLayers : []) where !(0..<model.configuration.layerCount).contains(l) {
      throw CLIError("layer \(l) is outside the model's 0..<\(model.configuration.layerCount)")
    }
    let judge = try judgeOptions.make(model: model)
    let units = try makeUnits(config)
    try fitBatches(&config, model: model, units: units)
    let runner = BenchRunner(model: model, judge: judge, config: config)
    runner.log = { log($0) }
    if config.utility { runner.utilityData = try utilityData(config) }
    var suite = BenchSuite(runner: runner, units: units, outputDirectory: out)
    suite.shard = (parsedShard!.index, parsedShard!.count)
    suite.resume = resume
    suite.force = force
    let bar = ProgressBar(total: suite.myUnits.count, label: "compare")
    let results = try suite.run { p in bar.update(p.done, resumed: p.resumed, "units  \(p.unit)") }
    bar.finish()
    let tokenizer = model.tokenizer
    try BenchReportPage.write(
      directory: out, tokenText: { TokenText.of($0, tokenizer) })
    print(try String(contentsOfFile: out + "/report.md", encoding: .utf8))
    log(
      "wrote \(out)/results.json, generations.jsonl, report.md, report.html, tradeoff.svg\(results.operatingPoints == nil ? "" : ", utility.svg") (\(results.units.count) units; peak RSS \(peakResidentMegabytes()) MB)"
    )
  }

  /// The GSM8K problems and reference answers every AxBench unit's operating points use.
  private func utilityData(_ config: BenchConfig) throws -> UtilityData {
    let gsm8kPath = JudgeOptions.resolve(gsm8kData)
    let problems: [GSM8KProblem]
    do { problems = try GSM8K.load(Data(readText(gsm8kPath, "--gsm8k-data").utf8), file: gsm8kData) } catch let error as CompareError {
      throw CLIError(error.description)
    }
    let answers: [(instruction: String, answer: String)]
    do {
      answers = try BenchmarkData.alpaca(JudgeOptions.resolve(referenceData)).compactMap { e in e.output.map { (e.instruction, $0) } }
    } catch let error as JudgeError { throw CLIError(error.description) }
    guard !answers.isEmpty else { throw CLIError("--reference-data \(referenceData) holds no answer (output)") }
    return UtilityData.draw(
      gsm8k: problems, alpaca: answers, problems: config.gsm8kProblems, references: config.referenceAnswers, seed: config.seed)
  }

  private func makeUnits(_ config: BenchConfig) throws -> [BenchUnit] {
    var units: [BenchUnit] = []
    let benches = Set(bench)
    do {
      if benches.contains(.axbench) {
        var all = try BenchmarkData.axbenchConcepts(JudgeOptions.resolve(conceptFile))
        if let conceptIDs {
          let ids = try Check.integers(conceptIDs, "--concept-ids")
          let missing = ids.filter { id in !all.contains { $0.conceptID == id } }
          guard missing.isEmpty else {
            throw CLIError("--concept-ids: \(missing.map(String.init).joined(separator: ", ")) not in \(conceptFile)")
          }
          all = ids.compactMap { id in all.first { $0.conceptID == id } }
        } else {
          all = Array(all.prefix(concepts ?? (budget == .paper ? 10 : 2)))
        }
        let pool = Array(Set(try BenchmarkData.axbenchExamples(JudgeOptions.resolve(instructionPool)).map(\.instruction))).sorted()
        let alpacaInstructions = try BenchmarkData.alpaca(JudgeOptions.resolve(alpaca)).map(\.instruction)
        units += BenchUnit.axbench(concepts: all, instructionPool: pool, alpaca: alpacaInstructions, config: config)
      }
      if benches.contains(.persona) {
        let names =
          traits.map { $0.split(separator: ",").map(String.init) }
          ?? (budget == .paper ? ["apathetic", "evil", "humorous", "impolite", "optimistic"] : ["evil"])
        let dir = JudgeOptions.resolve(personaDir)
        for name in names {
          units.append(
            BenchUnit.persona(
              extract: try BenchmarkData.persona("\(dir)/\(name)_extract.json"),
              eval: try BenchmarkData.persona("\(dir)/\(name)_eval.json"),
              config: config))
        }
      }
      if benches.contains(.ifeval) {
        let dataPath = JudgeOptions.resolve(ifevalData), basePath = JudgeOptions.resolve(ifevalBase)
        let prompts = try IFEvalFiles.readBenchmark(Data(readText(dataPath, "--ifeval-data").utf8), file: ifevalData)
        let base = try IFEvalFiles.readBaseQueries(Data(readText(basePath, "--ifeval-base").utf8), file: ifevalBase)
        let present = prompts.compactMap { $0.item.instructions.count == 1 ? $0.item.instructions[0].id : nil }
        let ids =
          try instructionIDs()
          ?? (budget == .paper
            ? InstructionID.allCases.filter(present.contains) : [.noComma, .englishLowercase].filter(present.contains))
        for id in ids where !present.contains(id) {
          throw CLIError("--instructions: \(ifevalData) has no prompt with the single instruction \(id.rawValue)")
        }
        units += BenchUnit.ifeval(prompts: prompts, baseQueries: base, ids: ids, config: config)
      }
    } catch let error as JudgeError {
      throw CLIError(error.description)
    } catch let error as IFEvalError {
      throw CLIError(error.description)
    }
    guard !units.isEmpty else { throw CLIError("no unit to run: the chosen concepts and traits are empty") }
    return units
  }
}

public struct Merge: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Combine the units of sharded runs into one results.json, generations.jsonl, report.md, report.html and plot.",
    discussion: """
      Example (after `compare … --shard i/2 --out out/shard-i` for i = 0, 1, as in compare's examples):
        compare merge out/shard-0 out/shard-1 --out out/all
      """)

  @Argument(help: "Run directories.") var directories: [String]
  @Option(help: "Output directory.") var out: String

  public func validate() throws {
    guard !directories.isEmpty else { throw ValidationError("name at least one run directory") }
    if out.isEmpty { throw ValidationError("--out is empty") }
  }

  public func run() throws {
    var config: [String: String] = [:]
    for d in directories {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: d, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CLIError("\(d) is not a directory")
      }
      guard let settings = try BenchSuite.settings(of: d) ?? (try? BenchResults.load(d + "/results.json"))?.config else {
        throw CLIError("\(d) is not a compare run (it has no config.json or results.json)")
      }
      if !config.isEmpty && settings != config { throw CLIError("\(d) was run with other settings than the first directory") }
      config = settings
    }
    let results = try BenchSuite.collect(directories: directories, into: out, config: config)
    guard !results.units.isEmpty else { throw CLIError("the directories hold no finished unit to merge") }
    // The units' folders stay in the shards, so the merged page has no per-unit gate activity.
    try BenchReportPage.write(directory: out, tokenText: nil)
    print("merged \(results.units.count) units into \(out)")
  }
}
