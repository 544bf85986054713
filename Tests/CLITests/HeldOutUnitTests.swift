import Compare
import Foundation
import TestSupport
import XCTest

/// The run that trapped: `compare` on a persona trait the project has never seen, in the documented
/// file format, at the small budget with --seed 5. The trait's derived unit seed is 2⁶³ or more, which
/// `Int(seed)` in the capture header could not hold.
final class HeldOutUnitTests: TemporaryDirectoryTestCase {
  func testHeldOutTraitWithAHighUnitSeedCompletes() throws {
    let source = Fixtures.packageRoot.appendingPathComponent("experiments/data/persona").path
    // The first of these names (underscores, non-ASCII) whose unit seed at --seed 5 has its top bit set.
    let candidates = ["sarcastic", "very_kind", "zynisch-ü", "calm", "pedantic", "grumpy", "wistful", "curious", "bold", "shy"]
    let name = try XCTUnwrap(
      candidates.first { n in
        BenchUnit(bench: .persona, id: n, name: n, steeringPrompt: "", trainInstructions: [], evalInstructions: [], target: .concept(n))
          .seed(runSeed: 5) >= 1 << 63
      })
    let traits = directory.appendingPathComponent("traits")
    try FileManager.default.createDirectory(at: traits, withIntermediateDirectories: true)
    for kind in ["extract", "eval"] {
      var o = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(source)/evil_\(kind).json"))) as! [String: Any]
      o["instruction"] = [["pos": "Answer with biting sarcasm.", "neg": "Answer sincerely and kindly."]]
      try JSONSerialization.data(withJSONObject: o).write(to: traits.appendingPathComponent("\(name)_\(kind).json"))
    }
    let out = directory.appendingPathComponent("run").path
    let run = try CommandLineTool.run(
      "compare",
      [
        "--bench", "persona", "--traits", name, "--persona-dir", traits.path, "--budget", "small", "--seed", "5",
        "--methods", "psr,none", "--out", out,
      ], timeout: 600)
    XCTAssertEqual(run.status, 0, run.stderr)
    let results = try BenchResults.load(out + "/results.json")
    XCTAssertEqual(results.units.map(\.unitID), [name], "the unit keeps the trait's whole name")
    XCTAssertEqual(Set(results.units[0].methods.map(\.method)), ["psr", "none"])
  }
}
