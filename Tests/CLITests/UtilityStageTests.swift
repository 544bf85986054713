import Compare
import Foundation
import LM
import TestSupport
import XCTest

/// The PrOSV paper's utility and robustness measures and the PSR paper's TA@C80, end to end on the
/// default model: AxBench operating points (selected factor, trained α, FSSV at 0.8α and 0.5α,
/// prompt, none) with their suppressed-prompt scores, GSM8K and reference-answer NLL; the
/// persona trait at coherence 80; the report's table and plot. Killed with SIGKILL inside the
/// utility stage, `--resume` finishes the run with results equal to an uninterrupted run's.
final class UtilityStageTests: TemporaryDirectoryTestCase {
  private let arguments = [
    "--bench", "axbench,persona", "--concepts", "1", "--traits", "evil", "--methods", "prompt,fssv,none", "--factors", "1,2",
    "--train-samples", "4", "--gsm8k-problems", "2", "--reference-answers", "3",
  ]

  private func results(_ dir: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: dir.appendingPathComponent("results.json"))
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  func testOperatingPointsAndTA80EndToEndAndResumeAfterKill() throws {
    let whole = directory.appendingPathComponent("whole")
    let r = try CommandLineTool.run("compare", arguments + ["--out", whole.path], in: directory, timeout: 900)
    XCTAssertEqual(r.status, 0, r.stderr)
    let loaded = try BenchResults.load(whole.appendingPathComponent("results.json").path)
    let axbench = try XCTUnwrap(loaded.units.first { $0.bench == .axbench })
    let points = try XCTUnwrap(axbench.operatingPoints)
    XCTAssertEqual(points.map(\.label), ["prompt", "fssv", "fssv@trained", "fssv@0.8α", "fssv@0.5α", "none"])
    XCTAssertEqual(points.map(\.trainedAlphaFraction), [nil, nil, 1, 0.8, 0.5, nil])
    XCTAssertEqual(points.map(\.factor), [nil, axbench.methods.first { $0.method == "fssv" && !$0.trained }?.selectedFactor, 1, 0.8, 0.5, nil])
    for p in points {
      XCTAssertEqual(p.gsm8kTotal, 2)
      XCTAssertTrue((0...2).contains(p.gsm8kCorrect))
      XCTAssertEqual(p.suppressed.n, 2, "the unit's two test instructions, suppressed")
      XCTAssertTrue(p.referenceNLL.isFinite && p.referenceNLL > 0)
    }
    // none's reference NLL is the unsteered model's on the same answers, drawn as the run drew them.
    let model = try Fixtures.model()
    let gsm8k = try GSM8K.load(Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("experiments/data/gsm8k/test.jsonl")), file: "t")
    let alpaca = try String(
      contentsOf: Fixtures.packageRoot.appendingPathComponent("experiments/data/alpaca_eval/gpt4_outputs.jsonl"), encoding: .utf8
    ).split(separator: "\n").map { line -> (instruction: String, answer: String) in
      let o = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
      return (o["instruction"] as! String, o["output"] as! String)
    }
    let data = UtilityData.draw(gsm8k: gsm8k, alpaca: alpaca, problems: 2, references: 3, seed: 0)
    let sequences = data.references.map {
      TeacherForcedSequence(
        prompt: model.chatPrompt(user: $0.instruction), response: Array(model.tokenizer.encode($0.answer, parseSpecial: false).prefix(64)))
    }
    let expected = Double(try model.meanResponseLoss(sequences))
    XCTAssertEqual(points.last!.referenceNLL, expected, accuracy: 1e-4 * expected)
    let rows = try XCTUnwrap(loaded.operatingPoints)
    XCTAssertEqual(rows.first { $0.method == "none" }?.referenceNLLIncrease ?? -1, 0, accuracy: 1e-12)
    // The suppressed answers are in generations.jsonl, their instruction asking to avoid the concept.
    let lines = try String(contentsOf: whole.appendingPathComponent("generations.jsonl"), encoding: .utf8).split(separator: "\n")
    let suppressed = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.filter {
      $0["split"] as? String == "suppressed"
    }
    XCTAssertEqual(suppressed.count, 6 * 2)
    XCTAssertTrue(suppressed.allSatisfy { ($0["instruction"] as! String).contains(axbench.name) })
    // Each carries the instruction it rewrites, which `compare judge` judges relevance against.
    XCTAssertTrue(suppressed.allSatisfy { ($0["instruction"] as! String).contains($0["original_instruction"] as! String) })
    // Persona: TA@C80 beside TA@Cp, at a factor that was evaluated.
    let persona = try XCTUnwrap(loaded.units.first { $0.bench == .persona }?.methods.first { $0.method == "fssv" })
    let at80 = try XCTUnwrap(persona.coherence80Factor)
    XCTAssertTrue(persona.factors.contains { $0.factor == at80 && $0.select == persona.atCoherence80 })
    let report = try String(contentsOf: whole.appendingPathComponent("report.md"), encoding: .utf8)
    for text in ["## Utility and robustness", "| fssv@0.8α |", "utility.svg", "TA@C80"] { XCTAssertTrue(report.contains(text), text) }
    let svg = try String(contentsOf: whole.appendingPathComponent("utility.svg"), encoding: .utf8)
    XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 2 * 6, "one point per operating point in each panel")

    // Killed inside the utility stage, then resumed.
    let killed = directory.appendingPathComponent("killed")
    let p = Process()
    p.executableURL = Fixtures.packageRoot.appendingPathComponent(".build/release/compare")
    p.arguments = arguments + ["--out", killed.path]
    p.currentDirectoryURL = directory
    let log = directory.appendingPathComponent("killed.log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let err = try FileHandle(forWritingTo: log)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = err
    try p.run()
    let deadline = Date().addingTimeInterval(600)
    func inStage() -> Bool { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("utility and robustness") }
    while !inStage() && p.isRunning && Date() < deadline { usleep(20_000) }
    XCTAssertTrue(p.isRunning, "the run was still in its utility stage when killed")
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    try err.close()
    let unit = killed.appendingPathComponent("units/axbench-0")
    XCTAssertFalse(FileManager.default.fileExists(atPath: unit.appendingPathComponent("result.json").path))
    // The unit goes on from its finished stages. A stage file that does not read is redone; a
    // method whose steering file is gone is fitted again, from the capture kept in the unit.
    let stages = unit.appendingPathComponent("stages")
    for name in ["capture", "method-prompt", "method-fssv", "method-none"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: stages.appendingPathComponent(name + ".json").path), name)
    }
    try Data("{".utf8).write(to: stages.appendingPathComponent("method-none.json"))
    try FileManager.default.removeItem(at: unit.appendingPathComponent("fssv.json"))
    let resumed = try CommandLineTool.run("compare", arguments + ["--out", killed.path, "--resume"], in: directory, timeout: 900)
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    for text in [
      "method-none.json is unreadable", "axbench 0: resuming (1 methods evaluated, 0 fitted by an earlier run)",
      "axbench 0: reusing the capture of an earlier run", "axbench 0: evaluating fssv", "axbench 0: evaluating none",
    ] {
      XCTAssertTrue(resumed.stderr.contains(text), text + "\n" + resumed.stderr)
    }
    XCTAssertFalse(resumed.stderr.contains("axbench 0: evaluating prompt"), resumed.stderr)
    XCTAssertEqual(
      try JSONSerialization.data(withJSONObject: try results(killed), options: .sortedKeys),
      try JSONSerialization.data(withJSONObject: try results(whole), options: .sortedKeys))
  }

  /// Means per operating point, relative to `none`.
  func testSummaryIsRelativeToNone() {
    func point(_ m: String, _ correct: Int, _ nll: Double, _ h: Double) -> OperatingPoint {
      OperatingPoint(method: m, factor: nil, suppressed: ScoreSummary(n: 1, harmonic: h), gsm8kCorrect: correct, gsm8kTotal: 4, referenceNLL: nll)
    }
    var a = UnitResult(bench: .axbench, unitID: "1", name: "a", methods: [])
    a.operatingPoints = [point("none", 2, 2.0, 0.5), point("fssv", 1, 2.5, 1.0)]
    var b = UnitResult(bench: .axbench, unitID: "2", name: "b", methods: [])
    b.operatingPoints = [point("none", 2, 3.0, 0.0), point("fssv", 0, 3.1, 0.5)]
    let rows = OperatingPointRow.summarize([a, b])
    XCTAssertEqual(rows.map(\.method), ["none", "fssv"])
    XCTAssertEqual(rows[1].gsm8kAccuracy, 12.5)
    XCTAssertEqual(rows[1].gsm8kRelative ?? 0, 25, accuracy: 1e-12)
    XCTAssertEqual(rows[1].referenceNLLIncrease ?? 0, 0.3, accuracy: 1e-12)
    XCTAssertEqual(rows[1].suppressedHarmonic, 0.75, accuracy: 1e-12)
    XCTAssertEqual(rows[1].suppressedCI95, Statistics.ci95([1.0, 0.5]), accuracy: 1e-12)
  }
}
