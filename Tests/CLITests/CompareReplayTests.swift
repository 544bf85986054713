import Foundation
import TestSupport
import XCTest

/// A benchmark unit is replayable: every fitted method is saved in the unit's folder as a steering
/// file, and `psr generate` with that file, the selected factor and the line's seed and stream
/// reproduces the unit's generations token for token, its answers to the suppressed prompts too.
final class CompareReplayTests: TemporaryDirectoryTestCase {
  func testPSRGenerateReplaysAUnitsGenerations() throws {
    let out = directory.appendingPathComponent("run").path
    let run = try CommandLineTool.run(
      "compare",
      ["--bench", "axbench", "--concepts", "1", "--methods", "psr,prosv", "--train-samples", "2", "--factors", "1,2", "--out", out],
      in: directory, timeout: 600)
    XCTAssertEqual(run.status, 0, run.stderr)
    let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/results.json"))) as! [String: Any]
    let unit = try XCTUnwrap((results["units"] as? [[String: Any]])?.first)
    let unitDirectory = "\(out)/units/axbench-\(unit["unit_id"] as! String)"
    let lines = try String(contentsOfFile: out + "/generations.jsonl", encoding: .utf8).split(separator: "\n")
    let records = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as! [String: String]
    var replayed = 0
    for method in ["psr", "prosv"] {
      let file = "\(unitDirectory)/\(method).json"
      let steering = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
      XCTAssertEqual(steering["kind"] as? String, method)
      let result = try XCTUnwrap((unit["methods"] as! [[String: Any]]).first { $0["method"] as? String == method })
      let selected = try XCTUnwrap(result["selected_factor"] as? Double)
      // The method at its selected factor (not its trained vector's operating points, which carry
      // trained_alpha_fraction).
      let chosen = records.filter {
        $0["method"] as? String == method && $0["factor"] as? Double == selected && $0["trained_alpha_fraction"] == nil
      }
      // The 4 eval instructions, and the 2 test instructions rewritten to suppress the concept.
      XCTAssertEqual(chosen.count, 6, "\(method) at \(selected)")
      XCTAssertEqual(chosen.filter { $0["split"] as? String == "suppressed" }.count, 2)
      XCTAssertEqual((steering["training"] as? [String: Any])?["seed"] as? String, chosen.first?["seed"] as? String)
      for record in chosen {
        let arguments = [
          "generate", "--prompt", record["instruction"] as! String, "--steer", file, "--factor", "\(selected)",
          "--temperature", config["temperature"]!, "--seed", record["seed"] as! String, "--max-tokens", config["eval_tokens"]!,
        ]
        let stream = record["stream"] as! Int
        let replay = try CommandLineTool.run("psr", arguments + ["--stream", "\(stream)"], in: directory)
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertEqual(String(replay.stdout.dropLast()), record["response"] as? String, "\(method) stream \(stream)")
        replayed += 1
        // Another stream draws other tokens: the replay depends on what the line records.
        if stream == 0 {
          let other = try CommandLineTool.run("psr", arguments + ["--stream", "7"], in: directory)
          XCTAssertNotEqual(String(other.stdout.dropLast()), record["response"] as? String)
        }
      }
    }
    XCTAssertEqual(replayed, 12)
  }
}
