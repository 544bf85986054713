import Foundation
import TestSupport
import XCTest

/// What a newcomer met on a fresh clone (issue 35), each held here or by scripts/doc_test.py: plain
/// messages for missing and malformed files, a refusal to overwrite a compare run, long commands that
/// say how long they will take, and counts printed as counts.
final class NewcomerTests: TemporaryDirectoryTestCase {
  private func run(_ tool: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
    try CommandLineTool.run(tool, arguments, in: directory, timeout: timeout)
  }

  func testAMissingJudgeInputIsNamedAsMissing() throws {
    let r = try run("compare", ["judge", "--input", "generations.jsonl", "--output", "scored.jsonl"])
    XCTAssertEqual(r.status, 1)
    XCTAssertTrue(r.stderr.contains("--input generations.jsonl: no such file"), r.stderr)
    try FileManager.default.createDirectory(at: directory.appendingPathComponent("d"), withIntermediateDirectories: true)
    let d = try run("compare", ["judge", "--input", "d"])
    XCTAssertTrue(d.stderr.contains("is a directory"), d.stderr)
  }

  func testAJSONFileThatIsNotASteeringFileGetsAPlainMessage() throws {
    let path = directory.appendingPathComponent("notes.json").path
    try Data(#"{"examples": 8, "nll": 3.1}"#.utf8).write(to: URL(fileURLWithPath: path))
    let r = try run("psr", ["inspect", path])
    XCTAssertEqual(r.status, 1)
    XCTAssertTrue(r.stderr.contains("is not a valid steering file: the field '"), r.stderr)
    XCTAssertFalse(r.stderr.contains("DecodingError") || r.stderr.contains("CodingKeys"), r.stderr)
    try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
    let n = try run("psr", ["inspect", path])
    XCTAssertTrue(n.stderr.contains("it is not valid JSON"), n.stderr)
  }

  func testInspectPrintsCountsAsIntegers() throws {
    let steering = Fixtures.packageRoot.appendingPathComponent("experiments/prosv/rental.prosv.json").path
    let r = try run("psr", ["inspect", steering])
    XCTAssertEqual(r.status, 0, r.stderr)
    let examples = r.stdout.split(separator: "\n").first { $0.contains("examples:") }
    XCTAssertNotNil(examples, r.stdout)
    XCTAssertFalse(examples?.hasSuffix(".0") ?? true, "\(examples ?? "")")
  }

  func testCompareRefusesAnOutputThatHoldsAnotherRun() throws {
    let out = directory.appendingPathComponent("run")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    try Data(#"{"seed": "9", "layer": "15"}"#.utf8).write(to: out.appendingPathComponent("config.json"))
    let r = try run("compare", ["--bench", "persona", "--methods", "none", "--out", out.path], timeout: 300)
    XCTAssertEqual(r.status, 1, r.stderr)
    XCTAssertTrue(r.stderr.contains("holds a run with other settings") && r.stderr.contains("--force"), r.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("results.json").path))
  }

  func testBenchPrintsEachFigureAsItIsMeasured() throws {
    let r = try run("psr", ["bench", "--only", "prefill,decode", "--prefill-tokens", "32", "--decode-tokens", "8", "--runs", "1", "--json"])
    XCTAssertEqual(r.status, 0, r.stderr)
    // Standard output stays one JSON object; each figure is on standard error, in the order measured.
    XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)))
    let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("bench: ") }
    XCTAssertTrue(lines.first?.contains("run(s) per figure") ?? false, r.stderr)
    let prefill = lines.firstIndex { $0.contains("prefill_tok_s") }
    let decode = lines.firstIndex { $0.contains("decode_tok_s") }
    XCTAssertNotNil(prefill, r.stderr)
    XCTAssertNotNil(decode, r.stderr)
    if let prefill, let decode { XCTAssertLessThan(prefill, decode) }
  }

  func testSteeringVectorTrainingPrintsAnETA() throws {
    let data = Fixtures.packageRoot.appendingPathComponent("examples/heldout.jsonl").path
    let r = try run(
      "psr", ["sv", "train", "--kind", "fssv", "--layer", "3", "--data", data, "--epochs", "1", "--max-response-tokens", "16", "--out", "v.json"])
    XCTAssertEqual(r.status, 0, r.stderr)
    let steps = r.stderr.split(separator: "\n").filter { $0.hasPrefix("epoch ") }
    XCTAssertFalse(steps.isEmpty, r.stderr)
    for s in steps { XCTAssertNotNil(s.range(of: #"eta \d+:\d\d"#, options: .regularExpression), String(s)) }
  }
}
