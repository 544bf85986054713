import Capture
import Compare
import Foundation
import IFEval
import LM
import Steering
import Store
import TestSupport
import XCTest

/// `compare --bench ifeval` end to end on the default model: two instruction units, each answered
/// without its instruction (steered), with it (prompting, and steered `+prompt`), scored by IFEval's
/// checkers; killed with SIGKILL after its first unit, `--resume` finishes the run with results equal
/// to an uninterrupted run's.
final class IFEvalBenchTests: TemporaryDirectoryTestCase {
  private let arguments = [
    "--bench", "ifeval", "--methods", "prompt,diffmean,none", "--instructions", "punctuation:no_comma,startend:quotation",
    "--factors", "1,2", "--train-samples", "4",
  ]

  private func results(_ dir: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: dir.appendingPathComponent("results.json"))
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  func testRunsEndToEndAndResumesAfterKill() throws {
    let whole = directory.appendingPathComponent("whole")
    let r = try CommandLineTool.run("compare", arguments + ["--out", whole.path], in: directory, timeout: 900)
    XCTAssertEqual(r.status, 0, r.stderr)
    let report = try String(contentsOf: whole.appendingPathComponent("report.md"), encoding: .utf8)
    XCTAssertTrue(report.contains("## IFEval"), report)
    for row in ["| prompt |", "| diffmean |", "| diffmean+prompt |", "| none |", "| punctuation:no_comma |", "| startend:quotation |"] {
      XCTAssertTrue(report.contains(row), "report.md lacks \(row)")
    }
    let units = try XCTUnwrap(try results(whole)["units"] as? [[String: Any]])
    XCTAssertEqual(units.map { $0["unit_id"] as? String }, ["punctuation.no_comma", "startend.quotation"])
    // Every generation carries the checkers' verdicts, and a verdict agrees with the text it judges.
    let lines = try String(contentsOf: whole.appendingPathComponent("generations.jsonl"), encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(lines.count, 2 * 4 * (1 + 1 + 2 + 2), "per unit and prompt: prompt and none once, diffmean and diffmean+prompt at 2 factors")
    for line in lines {
      let g = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let strict = try XCTUnwrap(g["follows_strict"] as? Bool)
      let response = try XCTUnwrap(g["response"] as? String)
      if (g["instruction_id_list"] as? [String]) == ["punctuation:no_comma"] {
        XCTAssertEqual(strict, !response.contains(",") && !response.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, response)
      }
      let method = try XCTUnwrap(g["method"] as? String)
      let instruction = try XCTUnwrap(g["instruction"] as? String)
      // Prompting and +prompt rows (with_instruction) answer the prompt with its instruction; the others without.
      let withInstruction = method == "prompt" || g["with_instruction"] as? Bool == true
      XCTAssertEqual(instruction.contains("comma") || instruction.contains("quotation"), withInstruction, "\(method): \(instruction)")
    }

    // Killed once its first unit is written, then resumed.
    let killed = directory.appendingPathComponent("killed")
    let p = Process()
    p.executableURL = Fixtures.packageRoot.appendingPathComponent(".build/release/compare")
    p.arguments = arguments + ["--out", killed.path]
    p.currentDirectoryURL = directory
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    let first = killed.appendingPathComponent("units/ifeval-punctuation.no_comma/result.json").path
    let deadline = Date().addingTimeInterval(600)
    while !FileManager.default.fileExists(atPath: first) && p.isRunning && Date() < deadline { usleep(100_000) }
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
    XCTAssertTrue(FileManager.default.fileExists(atPath: first), "the first unit finished before the kill")
    let resumed = try CommandLineTool.run("compare", arguments + ["--out", killed.path, "--resume"], in: directory, timeout: 900)
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertTrue(resumed.stderr.contains("resume: ifeval punctuation.no_comma") && resumed.stderr.contains("skipped"), resumed.stderr)
    XCTAssertEqual(
      try JSONSerialization.data(withJSONObject: try results(killed), options: .sortedKeys),
      try JSONSerialization.data(withJSONObject: try results(whole), options: .sortedKeys))
  }

  /// The same bench on a tiny Qwen2 checkpoint (context 128) with short prompts of its own: any
  /// model and any IFEval-format data run.
  func testRunsOnATinyFamilyFixture() throws {
    let fixture = try FamilyFixture.load("qwen2")
    let data = directory.appendingPathComponent("short.jsonl"), base = directory.appendingPathComponent("base.jsonl")
    let fruits = ["apple", "pear", "plum", "fig"]
    try fruits.enumerated().map { i, f in
      #"{"key": \#(i + 1), "prompt": "Describe a \#(f). Do not use any commas.", "prompt_without_instruction": "Describe a \#(f).", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}"#
    }.joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
    try (0..<6).map { #"{"key": \#(100 + $0), "prompt_without_instruction": "Day \#($0)."}"# }.joined(separator: "\n")
      .write(to: base, atomically: true, encoding: .utf8)
    let out = directory.appendingPathComponent("tiny")
    let r = try CommandLineTool.run(
      "compare",
      [
        "--model", fixture.gguf, "--bench", "ifeval", "--methods", "prompt,psr,diffmean-last,diffmean-proj,none", "--instructions", "punctuation:no_comma",
        "--ifeval-data", data.path, "--ifeval-base", base.path, "--layer", "1", "--factors", "1,2", "--train-samples", "4",
        "--out", out.path,
      ], in: directory, timeout: 600)
    XCTAssertEqual(r.status, 0, r.stderr)
    let methods = try XCTUnwrap(((try results(out)["units"] as? [[String: Any]])?.first?["methods"] as? [[String: Any]]))
    // Each steered method's +prompt row is the method with with_instruction (results.json schema 2).
    XCTAssertEqual(
      methods.compactMap { m in (m["method"] as? String).map { m["with_instruction"] as? Bool == true ? $0 + "+prompt" : $0 } },
      ["prompt", "psr", "psr+prompt", "diffmean-last", "diffmean-last+prompt", "diffmean-proj", "diffmean-proj+prompt", "none"])
    XCTAssertFalse(methods.contains { ($0["method"] as? String)?.contains("+") ?? true })
    for m in methods {
      let score = try XCTUnwrap(m["score"] as? [String: Any])
      let strict = try XCTUnwrap(score["if_strict"] as? Double)
      XCTAssertTrue([0, 50, 100].contains(strict), "two test prompts: \(strict)")
    }
    // diffmean-last is the mean over the unit's training prompts of the last prompt token's state
    // with the instruction appended minus without it, after the steered layer (computed here one
    // prompt at a time, the run computed it in batches).
    var config = BenchConfig.small
    config.trainSamples = 4
    let unit = try XCTUnwrap(
      BenchUnit.ifeval(
        prompts: try IFEvalFiles.readBenchmark(Data(contentsOf: data), file: "short.jsonl"),
        baseQueries: try IFEvalFiles.readBaseQueries(Data(contentsOf: base), file: "base.jsonl"), ids: [.noComma], config: config
      ).first)
    let model = try DecoderModel(path: fixture.gguf)
    final class Last: Intervention {
      let layers: Set<Int> = [1]
      var row: [Float] = []
      func edit(layer: Int, hidden: HiddenStates) {
        row = Array(UnsafeBufferPointer(start: hidden.row(hidden.rows - 1), count: hidden.width))
      }
    }
    var expected = [Double](repeating: 0, count: model.configuration.modelDimension)
    var promptedRows: [[Float]] = []
    // Each training prompt carries its own wording of the instruction (IFEval's and the project's).
    let wordings = try XCTUnwrap(unit.trainSteeringPrompts)
    XCTAssertEqual(wordings.count, unit.trainInstructions.count)
    XCTAssertTrue(Set(wordings).isSubset(of: try Instruction(id: "punctuation:no_comma", kwargs: [:]).phrasings))
    for (i, instruction) in unit.trainInstructions.enumerated() {
      let pair = model.promptPair(instruction: instruction, steeringPrompt: wordings[i], position: .suffix)
      var rows: [[Float]] = []
      for prompt in [pair.prompted, pair.unprompted] {
        let last = Last()
        try model.forward([ForwardChunk(tokens: prompt, cache: model.makeCache(capacity: prompt.count), promptLength: prompt.count)], logits: .none, intervention: last)
        rows.append(last.row)
      }
      for i in expected.indices { expected[i] += Double(rows[0][i] - rows[1][i]) / Double(unit.trainInstructions.count) }
      promptedRows.append(rows[0])
    }
    // The capture appends the instruction to the query, as IFEval's prompts carry it.
    let capture = try ActivationReader(path: out.appendingPathComponent("units/ifeval-punctuation.no_comma/capture.h5").path)
    XCTAssertEqual(capture.header.promptPosition, "suffix")
    XCTAssertEqual(capture.header.steeringPrompt, "In your entire response, refrain from the use of any commas.")
    XCTAssertTrue(capture.header.steeringPromptPerExample)
    XCTAssertEqual(try capture.steeringPrompts(), wordings, "the capture records each example's own instruction")
    let file = try SteeringFile.load(out.appendingPathComponent("units/ifeval-punctuation.no_comma/diffmean-last.json").path, for: model)
    XCTAssertEqual(file.vectors.map(\.positions), [.prompt(prefix: 0, suffix: 1), .response])
    for (a, b) in zip(file.vectors[0].vector, expected) { XCTAssertEqual(Double(a), b, accuracy: 1e-4 * max(1, abs(b))) }
    // diffmean-proj: the unit direction, and the prompted last-token states' mean projection on it.
    let projection = try SteeringFile.load(out.appendingPathComponent("units/ifeval-punctuation.no_comma/diffmean-proj.json").path, for: model)
    let entries = try XCTUnwrap(projection.projections)
    XCTAssertEqual(entries.map(\.positions), [.prompt(prefix: 0, suffix: 1), .response])
    let norm = expected.reduce(0) { $0 + $1 * $1 }.squareRoot()
    for (a, b) in zip(entries[0].direction, expected) { XCTAssertEqual(Double(a), b / norm, accuracy: 1e-4) }
    let target = promptedRows.map { row in zip(row, expected).reduce(0.0) { $0 + Double($1.0) * $1.1 / norm } }.reduce(0, +)
      / Double(promptedRows.count)
    XCTAssertEqual(Double(entries[0].target), target, accuracy: 1e-3 * max(1, abs(target)))
  }

  /// IFEval units shard as the other benches do, and `compare merge` of the shards equals the whole run.
  func testShardsMergeIntoTheWholeRun() throws {
    let base = ["--bench", "ifeval", "--methods", "prompt,none", "--instructions", "punctuation:no_comma,startend:quotation"]
    for (name, extra) in [("whole", [String]()), ("s0", ["--shard", "0/2"]), ("s1", ["--shard", "1/2"])] {
      let r = try CommandLineTool.run(
        "compare", base + extra + ["--out", directory.appendingPathComponent(name).path], in: directory, timeout: 600)
      XCTAssertEqual(r.status, 0, r.stderr)
    }
    let merged = directory.appendingPathComponent("merged")
    let m = try CommandLineTool.run(
      "compare", ["merge", directory.appendingPathComponent("s0").path, directory.appendingPathComponent("s1").path, "--out", merged.path],
      in: directory)
    XCTAssertEqual(m.status, 0, m.stderr)
    XCTAssertEqual(
      try JSONSerialization.data(withJSONObject: try results(merged), options: .sortedKeys),
      try JSONSerialization.data(withJSONObject: try results(directory.appendingPathComponent("whole")), options: .sortedKeys))
    XCTAssertTrue(try String(contentsOf: merged.appendingPathComponent("report.md"), encoding: .utf8).contains("## IFEval"))
  }

  func testUnknownInstructionIdIsRefusedBeforeAnyWork() throws {
    let r = try CommandLineTool.run("compare", ["--bench", "ifeval", "--instructions", "punctuation:no_semicolon"], in: directory)
    XCTAssertEqual(r.status, 64, r.stderr)
    XCTAssertTrue(r.stderr.contains("--instructions: 'punctuation:no_semicolon' is not an IFEval instruction id"), r.stderr)
  }
}
