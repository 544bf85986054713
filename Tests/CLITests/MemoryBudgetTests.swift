import Foundation
import LM
import Store
import TestSupport
import XCTest

/// `--memory-budget`: batches shrink to fit before any work starts, and a budget that cannot fit
/// one example stops the run with an error that says what to change.
final class MemoryBudgetTests: TemporaryDirectoryTestCase {
  private func capture(_ extra: [String], out: String) throws -> (status: Int32, stdout: String, stderr: String) {
    try "You are a pirate.".write(to: directory.appendingPathComponent("p.txt"), atomically: true, encoding: .utf8)
    let questions = ["Say hello.", "Name a colour.", "Describe the sea.", "Count to three.", "What is tea?", "Give a tip."]
    try questions.joined(separator: "\n").write(to: directory.appendingPathComponent("x.txt"), atomically: true, encoding: .utf8)
    return try CommandLineTool.run(
      "capture",
      [
        "--model", Fixtures.modelPath, "--prompt-file", "p.txt", "--inputs", "x.txt", "--layers", "5", "--max-new-tokens", "6", "--out",
        out,
      ]
        + extra, in: directory)
  }

  func testABudgetBelowOneExampleStopsBeforeAnyWork() throws {
    let result = try capture(["--memory-budget", "10M"], out: "o.h5")
    XCTAssertEqual(result.status, 1, result.stderr)
    XCTAssertTrue(result.stderr.contains("--memory-budget 0.0 GB does not fit one example"), result.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("o.h5").path))
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("o.h5.partial").path))
    for bad in ["-5G", "abc", "0", "nanG"] {
      let refused = try capture(["--memory-budget=\(bad)"], out: "o.h5")
      XCTAssertNotEqual(refused.status, 0, bad)
      XCTAssertTrue(refused.stderr.contains("--memory-budget"), "\(bad): \(refused.stderr)")
    }
  }

  /// A budget for about two examples at a time: smaller batches, announced, and the same
  /// examples within fp32 summation noise of the default batches.
  func testATightBudgetShrinksBatchesAndKeepsTheNumbers() throws {
    let model = try Fixtures.model()
    let budget = model.weightBytes + 2 * 2 * model.bytesPerSequence(tokens: 80, recordedLayers: 1)
    let tight = try capture(["--memory-budget", "\(budget)"], out: "tight.h5")
    XCTAssertEqual(tight.status, 0, tight.stderr)
    XCTAssertTrue(tight.stderr.contains("examples instead of 8"), tight.stderr)
    let wide = try capture([], out: "wide.h5")
    XCTAssertEqual(wide.status, 0, wide.stderr)
    let a = try ActivationReader(path: directory.appendingPathComponent("tight.h5").path)
    let b = try ActivationReader(path: directory.appendingPathComponent("wide.h5").path)
    XCTAssertEqual(a.exampleCount, 6)
    XCTAssertEqual(a.tokenCount, b.tokenCount)
    let (da, db) = (try a.delta(layer: 5), try b.delta(layer: 5))
    XCTAssertEqual(da.count, db.count)
    let error = zip(da, db).map { abs($0 - $1) }.max() ?? 0
    let scale = db.map(abs).max() ?? 1
    XCTAssertLessThan(error, 1e-4 * scale)
  }
}
