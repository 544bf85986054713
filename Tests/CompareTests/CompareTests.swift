import Compare
import Embedding
import Foundation
import Judges
import LM
import Store
import TestSupport
import XCTest

final class CompareTests: TemporaryDirectoryTestCase {
  /// The default model and the offline judge with its committed calibration.
  private func defaultModelAndJudge() throws -> (DecoderModel, EmbeddedJudge) {
    let model = try Fixtures.model()
    let encoder = try SentenceEncoder(directory: Fixtures.packageRoot.appendingPathComponent("models/all-minilm-l6-v2").path)
    let calibration = try JudgeCalibration.load(Fixtures.packageRoot.appendingPathComponent("judges/calibration.json").path)
    return (model, EmbeddedJudge(encoder: encoder, model: model, calibration: calibration))
  }

  func testFactorSelectionNeverSeesTestInstructions() {
    // Test scores favour factor 4 and selection scores favour factor 1: the choice must follow selection.
    let grid = [0.5, 1, 2, 4].map { f in
      FactorResult(
        factor: f, select: ScoreSummary(n: 5, harmonic: f == 1 ? 1.2 : 0.4), test: ScoreSummary(n: 5, harmonic: f == 4 ? 2 : 0.1))
    }
    XCTAssertEqual(grid[AxBenchFactorProtocol.choose(grid)].factor, 1)
    // Changing only test scores never changes the choice.
    var shuffled = grid
    for i in shuffled.indices { shuffled[i].test = ScoreSummary(n: 5, harmonic: Double(i)) }
    XCTAssertEqual(AxBenchFactorProtocol.choose(shuffled), AxBenchFactorProtocol.choose(grid))
    // Ties go to the smaller factor.
    let tie = [2.0, 1.0].map { FactorResult(factor: $0, select: ScoreSummary(n: 1, harmonic: 1), test: nil) }
    XCTAssertEqual(tie[AxBenchFactorProtocol.choose(tie)].factor, 1)
  }

  func testEvalInstructionsAreSplitIntoSelectAndTestHalves() throws {
    let concepts = [AxBenchConcept(conceptID: 7, concept: "boats"), AxBenchConcept(conceptID: 9, concept: "trees")]
    let alpaca = (0..<50).map { "instruction \($0)" }
    let units = BenchUnit.axbench(concepts: concepts, instructionPool: alpaca, alpaca: alpaca, config: .paper)
    XCTAssertEqual(units[0].evalInstructions.count, 10)
    XCTAssertEqual(BenchConfig.paper.selectCount, 5)
    XCTAssertEqual(Set(units[0].evalInstructions).count, 10, "no instruction is both a select and a test instruction")
    XCTAssertNotEqual(units[0].evalInstructions, units[1].evalInstructions, "seeded by the concept id")
    XCTAssertEqual(
      units[0].evalInstructions,
      BenchUnit.axbench(concepts: concepts, instructionPool: alpaca, alpaca: alpaca, config: .paper)[0].evalInstructions)
  }

  func testResultsSchemaRoundTrips() throws {
    let unit = UnitResult(
      bench: .axbench, unitID: "3", name: "boats",
      methods: [
        MethodResult(
          method: "psr",
          factors: [
            FactorResult(
              factor: 1, select: ScoreSummary(n: 5, conceptScore: 1, instructScore: 2, fluencyScore: 1.5, harmonic: 1.38),
              test: ScoreSummary(n: 5, harmonic: 1.1))
          ],
          selectedFactor: 1, score: ScoreSummary(n: 5, harmonic: 1.1), atUnitFactor: nil)
      ])
    let results = BenchResults(config: ["seed": "0"], units: [unit])
    let path = directory.appendingPathComponent("results.json").path
    try results.write(to: path)
    XCTAssertEqual(try BenchResults.load(path), results)
    let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    let summary = (object["summary"] as! [[String: Any]])[0]
    XCTAssertEqual(summary["bench"] as? String, "axbench")
    XCTAssertEqual(summary["method"] as? String, "psr")
    XCTAssertEqual(summary["n_units"] as? Int, 1)
    XCTAssertEqual(summary["harmonic"] as? Double, 1.1)
  }

  /// `Scores` sits flat in its owners' JSON: committed runs' generations (AxBench, persona and
  /// IFEval) decode and encode again to the same members and values, and a whole results.json to
  /// the same bytes. (Runs from before this toolchain wrote a Float factor as its double, 0.2 as
  /// 0.20000000298023224: the factor is compared as a Float.)
  func testScoresKeepTheFlatJSONOfCommittedRuns() throws {
    let root = Fixtures.packageRoot.appendingPathComponent("experiments/compare")
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var checked = Set<String>()
    for unit in ["paper-10c-5t/units/axbench-0", "paper-10c-5t/units/persona-evil", "ifeval-paper/units/ifeval-change_case.english_capital"] {
      let text = try String(contentsOf: root.appendingPathComponent(unit + "/generations.jsonl"), encoding: .utf8)
      for line in text.split(separator: "\n") {
        let record = try JSONDecoder().decode(GenerationRecord.self, from: Data(line.utf8))
        let written = try XCTUnwrap(JSONSerialization.jsonObject(with: encoder.encode(record)) as? [String: Any])
        let read = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        // Schema 1's `NAME+prompt` is now the method with with_instruction; its label is the old name.
        XCTAssertEqual(Set(written.keys).subtracting(["with_instruction"]), Set(read.keys))
        XCTAssertEqual(record.label, read["method"] as? String)
        func member(_ object: [String: Any], _ key: String) throws -> Data {
          try JSONSerialization.data(withJSONObject: [key: object[key] ?? NSNull()], options: [.sortedKeys])
        }
        for key in read.keys where key != "factor" && key != "method" {
          XCTAssertEqual(try member(written, key), try member(read, key), key)
        }
        XCTAssertEqual((written["factor"] as? NSNumber)?.floatValue, (read["factor"] as? NSNumber)?.floatValue)
        checked.insert(record.bench)
      }
    }
    XCTAssertEqual(checked, ["axbench", "persona", "ifeval"])
    let path = root.appendingPathComponent("ifeval-paper/results.json").path
    let results = try BenchResults.load(path)
    XCTAssertNotNil(results.summary.first { $0.ifStrict != nil && $0.coherence != nil })
    let again = directory.appendingPathComponent("results.json").path
    try results.write(to: again)
    XCTAssertEqual(try BenchResults.load(again), results)
    // Every row is labelled with the name schema 1 gave it (`psr+prompt` is now psr with with_instruction).
    let original = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    let names = try XCTUnwrap(original["summary"] as? [[String: Any]]).compactMap { $0["method"] as? String }
    XCTAssertEqual(results.summary.map(\.label), names)
    XCTAssertTrue(names.contains { $0.hasSuffix("+prompt") })
    XCTAssertFalse(results.summary.contains { $0.method.contains("+") })
  }

  /// Schema 1 named trained rows `NAME@trained` and operating points `fssv@0.8α`; they are read
  /// back as the method with `trained` or `trained_alpha_fraction`, which is what schema 2 writes.
  /// A newer schema is refused by name.
  func testSchema1TrainedLabelsAreReadAsFields() throws {
    let path = Fixtures.packageRoot.appendingPathComponent("experiments/compare/paper-10c-5t/results.json").path
    let results = try BenchResults.load(path)
    let methods = results.units.flatMap(\.methods)
    XCTAssertFalse(methods.contains { $0.method.contains("@") })
    XCTAssertEqual(Set(methods.filter(\.trained).map(\.label)), ["fssv@trained", "prosv@trained"])
    XCTAssertEqual(methods.filter(\.trained).count, 20, "10 concepts × 2 jointly trained methods")
    XCTAssertEqual(Set(results.summary.filter(\.trained).map(\.label)), ["fssv@trained", "prosv@trained"])
    let again = directory.appendingPathComponent("results.json").path
    try results.write(to: again)
    let text = try String(contentsOf: URL(fileURLWithPath: again), encoding: .utf8)
    XCTAssertFalse(text.contains("@trained"))
    XCTAssertTrue(text.contains("\"trained\" : true"))
    XCTAssertEqual(try BenchResults.load(again), results)

    let schema1Point = #"{"method": "fssv@0.8α", "factor": 0.8, "suppressed": {"n": 1, "harmonic": 0.5}, "gsm8k_correct": 1, "gsm8k_total": 2, "reference_nll": 2}"#
    let point = try JSONDecoder().decode(OperatingPoint.self, from: Data(schema1Point.utf8))
    XCTAssertEqual(point.method, "fssv")
    XCTAssertEqual(point.trainedAlphaFraction, 0.8)
    XCTAssertEqual(point.label, "fssv@0.8α")
    for (label, method, fraction) in [("prosv@trained", "prosv", Float(1)), ("my@file", "my@file", nil), ("x@0α", "x@0α", nil), ("+prompt", "+prompt", nil)] {
      let p = try JSONDecoder().decode(OperatingPoint.self, from: Data(schema1Point.replacingOccurrences(of: "fssv@0.8α", with: label).utf8))
      XCTAssertEqual(p.method, method, label)
      XCTAssertEqual(p.trainedAlphaFraction, fraction, label)
    }
    // IFEval's schema-1 `NAME+prompt` rows, in results and generations.
    let prompted = try JSONDecoder().decode(
      MethodResult.self,
      from: Data(#"{"method": "psr+prompt", "factors": [], "score": {"n": 2, "if_strict": 50}}"#.utf8))
    XCTAssertEqual([prompted.method, prompted.label], ["psr", "psr+prompt"])
    XCTAssertTrue(prompted.withInstruction)
    XCTAssertFalse(prompted.trained)
    let written = String(decoding: try JSONEncoder().encode(prompted), as: UTF8.self)
    XCTAssertTrue(written.contains(#""with_instruction":true"#) && written.contains(#""method":"psr""#), written)
    let newer = directory.appendingPathComponent("newer.json").path
    try text.replacingOccurrences(of: "\"schema_version\" : 2", with: "\"schema_version\" : 3").write(toFile: newer, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try BenchResults.load(newer)) { XCTAssertTrue("\($0)".contains("schema_version 3"), "\($0)") }
  }

  /// The small budget with only the two methods that fit nothing (fast units).
  private func promptAndNoneConfig(evalInstructions: Int, evalTokens: Int) -> BenchConfig {
    var config = BenchConfig.small
    config.methods = ["prompt", "none"]
    config.evalInstructions = evalInstructions
    config.evalTokens = evalTokens
    return config
  }

  /// A memory budget splits a unit's generations into smaller batches; each sequence draws its
  /// own stream and the quantized decode is batch-invariant, so the results and every generated
  /// text stay the same.
  func testGenerationsSplitIntoSmallBatchesAreTheSame() throws {
    let (model, judge) = try defaultModelAndJudge()
    let config = promptAndNoneConfig(evalInstructions: 3, evalTokens: 8)
    let alpaca = ["Name a colour.", "Say hello.", "Count to three.", "Describe rain."]
    let units = BenchUnit.axbench(
      concepts: [AxBenchConcept(conceptID: 1, concept: "boats")], instructionPool: alpaca, alpaca: alpaca, config: config)
    func run(batch: Int) throws -> (BenchResults, String) {
      var c = config
      c.generationBatch = batch
      let dir = directory.appendingPathComponent("batch-\(batch)").path
      let results = try BenchSuite(runner: BenchRunner(model: model, judge: judge, config: c), units: units, outputDirectory: dir).run()
      return (results, try String(contentsOfFile: dir + "/generations.jsonl", encoding: .utf8))
    }
    let (whole, wholeTexts) = try run(batch: Int.max)
    // Each method generates its 3 instructions once (prompting and no steering take no factor):
    // batches of 2 split every call.
    let (split, splitTexts) = try run(batch: 2)
    XCTAssertEqual(split, whole)
    XCTAssertEqual(splitTexts, wholeTexts)
    XCTAssertEqual(wholeTexts.split(separator: "\n").count, 2 * 3)
  }

  /// Two shards merged give the same results.json as one unsharded run.
  func testMergeOfShardsEqualsUnshardedRun() throws {
    let (model, judge) = try defaultModelAndJudge()
    let config = promptAndNoneConfig(evalInstructions: 2, evalTokens: 6)
    let concepts = [
      AxBenchConcept(conceptID: 1, concept: "boats"), AxBenchConcept(conceptID: 2, concept: "trees"),
      AxBenchConcept(conceptID: 3, concept: "music"),
    ]
    let alpaca = ["Name a colour.", "Say hello.", "Count to three.", "Describe rain.", "What is tea?", "Give a tip."]
    let units = BenchUnit.axbench(concepts: concepts, instructionPool: alpaca, alpaca: alpaca, config: config)
    let runner = BenchRunner(model: model, judge: judge, config: config)
    let whole = directory.appendingPathComponent("whole").path
    let unsharded = try BenchSuite(runner: runner, units: units, outputDirectory: whole).run()
    var shardDirs: [String] = []
    for i in 0..<2 {
      let dir = directory.appendingPathComponent("shard-\(i)").path
      var suite = BenchSuite(runner: runner, units: units, outputDirectory: dir)
      suite.shard = (i, 2)
      XCTAssertEqual(suite.myUnits.count, i == 0 ? 2 : 1)
      _ = try suite.run()
      shardDirs.append(dir)
    }
    let merged = try BenchSuite.collect(
      directories: shardDirs, into: directory.appendingPathComponent("merged").path, config: config.record)
    XCTAssertEqual(merged, unsharded)
    XCTAssertEqual(merged.units.count, 3)
    XCTAssertEqual(Set(merged.summary.map(\.method)), ["prompt", "none"])
    // Rerunning with the same seed reproduces results.json, and --resume skips finished units.
    // Without --resume (or --force) the finished run is not started over.
    XCTAssertThrowsError(try BenchSuite(runner: runner, units: units, outputDirectory: whole).run()) {
      XCTAssertTrue("\($0)".contains("--resume continues it"), "\($0)")
    }
    var again = BenchSuite(runner: runner, units: units, outputDirectory: whole)
    again.resume = true
    let said = LogLines()
    runner.log = { said.append($0) }
    XCTAssertEqual(try again.run(), unsharded)
    runner.log = { _ in }
    XCTAssertEqual(said.lines.filter { $0.hasPrefix("resume: ") && $0.hasSuffix("skipped") }.count, 3, "\(said.lines)")
    for file in ["results.json", "generations.jsonl", "report.md", "tradeoff.svg", "config.json"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: whole + "/" + file), file)
    }
    // Resuming into a directory started with other settings would mix units: refused.
    var other = config
    other.seed = 1
    var mixed = BenchSuite(runner: BenchRunner(model: model, judge: judge, config: other), units: units, outputDirectory: whole)
    mixed.resume = true
    XCTAssertThrowsError(try mixed.run()) { XCTAssertTrue("\($0)".contains("seed"), "\($0)") }
    XCTAssertEqual(try BenchSuite.settings(of: whole), config.record)
  }

  /// `apsr` captures every A-PSR layer and fits them through the model before evaluating.
  func testAPSRIsFittedAtItsLayersAndEvaluated() throws {
    let (model, judge) = try defaultModelAndJudge()
    var config = BenchConfig.small
    config.methods = ["apsr"]
    config.apsrLayers = [12, 14]
    config.apsrEpochs = 1
    config.trainSamples = 2
    config.trainTokens = 8
    config.evalInstructions = 2
    config.evalTokens = 6
    config.factors = [1, 2]
    XCTAssertEqual(config.captureLayers, [12, 14, 15])
    XCTAssertEqual(config.record["apsr_layers"], "12,14")
    let alpaca = ["Name a colour.", "Say hello.", "Count to three.", "Describe rain."]
    let unit = BenchUnit.axbench(
      concepts: [AxBenchConcept(conceptID: 1, concept: "boats")], instructionPool: alpaca, alpaca: alpaca, config: config)[0]
    let runner = BenchRunner(model: model, judge: judge, config: config)
    let (result, records, timings) = try runner.run(unit, directory: directory.path)
    let apsr = try XCTUnwrap(result.methods.first { $0.method == "apsr" })
    XCTAssertEqual(apsr.factors.map(\.factor), [1, 2])
    XCTAssertEqual(records.filter { $0.method == "apsr" }.count, 4)
    XCTAssertGreaterThan(timings.first { $0.method == "apsr" }?.trainSeconds ?? 0, 0)
    let capture = try ActivationReader(path: directory.appendingPathComponent("capture.h5").path)
    XCTAssertEqual(capture.header.layers, [12, 14, 15])
  }
}

/// Log lines a runner printed, for tests that check what a run said.
final class LogLines: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: [String] = []
  var lines: [String] { lock.withLock { stored } }
  func append(_ line: String) { lock.withLock { stored.append(line) } }
}
