import Foundation
import LM
import TestSupport
import XCTest

/// Every writer of a finished output is all-or-nothing: the real executable is killed with SIGKILL at
/// random moments while it writes (steering files and fit outputs, exports, results.json and the
/// reports, the HTML page of a capture), and each output is then either the file that was there before
/// or the one an uninterrupted run writes, byte for byte: never a part of one.
final class KillDuringWriteTests: TemporaryDirectoryTestCase {
  /// Kill moments per writer, drawn uniformly over an uninterrupted run's duration (seeded).
  static let kills = 6

  private struct Writer {
    let name: String
    let tool: String
    let arguments: [String]
    /// Outputs relative to the test directory.
    let outputs: [String]
  }

  private func executable(_ tool: String) -> String { Fixtures.packageRoot.appendingPathComponent(".build/release/\(tool)").path }

  /// Runs to the end and returns how long it took.
  private func runToEnd(_ w: Writer) throws -> TimeInterval {
    let start = Date()
    let r = try CommandLineTool.run(w.tool, w.arguments, in: directory, timeout: 300)
    XCTAssertEqual(r.status, 0, "\(w.name): \(r.stderr)")
    return Date().timeIntervalSince(start)
  }

  private func killed(_ w: Writer, after seconds: TimeInterval) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable(w.tool))
    p.arguments = w.arguments
    p.currentDirectoryURL = directory
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    usleep(useconds_t(seconds * 1e6))
    kill(p.processIdentifier, SIGKILL)
    p.waitUntilExit()
  }

  private func check(_ w: Writer) throws {
    let fm = FileManager.default
    func path(_ o: String) -> String { directory.appendingPathComponent(o).path }
    // "Old": a distinct, complete file at each output path before any run.
    var old: [String: Data] = [:]
    for o in w.outputs {
      try fm.createDirectory(atPath: (path(o) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      old[o] = Data("an older \(o), written before the run\n".utf8)
    }
    func reset() throws { for o in w.outputs { try old[o]!.write(to: URL(fileURLWithPath: path(o))) } }
    // "New": what an uninterrupted run writes (twice: the outputs must not depend on the moment).
    let duration = try runToEnd(w)
    var new: [String: Data] = [:]
    for o in w.outputs { new[o] = try Data(contentsOf: URL(fileURLWithPath: path(o))) }
    var generator = SeededGenerator(seed: 0xC0FFEE ^ UInt64(w.name.utf8.count))
    for k in 0..<Self.kills {
      try reset()
      let at = Double.random(in: 0...duration, using: &generator)
      try killed(w, after: at)
      for o in w.outputs {
        let found = fm.contents(atPath: path(o))
        XCTAssertTrue(
          found == old[o] || found == new[o] || Self.sameExceptCreated(found, new[o]!),
          "\(w.name), kill \(k) at \(String(format: "%.2f", at)) of \(String(format: "%.2f", duration)) s: \(o) is neither the old nor the new file (\(found?.count ?? -1) bytes)")
      }
    }
    // Temporary files of killed writers may stay beside the outputs, but never under an output's name.
    for o in w.outputs { XCTAssertNotNil(fm.contents(atPath: path(o))) }
  }

  /// Steering files carry the moment they were made (`created`); a killed run that finished its
  /// write differs from the reference run there alone.
  private static func sameExceptCreated(_ a: Data?, _ b: Data) -> Bool {
    guard let a, var x = (try? JSONSerialization.jsonObject(with: a)) as? [String: Any],
      var y = (try? JSONSerialization.jsonObject(with: b)) as? [String: Any]
    else { return false }
    x["created"] = nil
    y["created"] = nil
    return NSDictionary(dictionary: x).isEqual(to: y)
  }

  func testEveryWriterIsAllOrNothingUnderSIGKILL() throws {
    let cvec = try Fixtures.controlVector()
    let compareRun = Fixtures.packageRoot.appendingPathComponent("experiments/compare/small-10c-5t").path
    let steering = Fixtures.packageRoot.appendingPathComponent("experiments/prosv/rental.prosv.json").path
    let diffmean = Fixtures.packageRoot.appendingPathComponent("experiments/psr/evil.diffmean.json").path
    // A small capture for fit and report, made once.
    try "Talk like a pirate.".write(to: directory.appendingPathComponent("p.txt"), atomically: true, encoding: .utf8)
    try "What is rain?\nName a colour.\nSay hello.\nCount to three.\nDescribe the sea.\n".write(
      to: directory.appendingPathComponent("q.txt"), atomically: true, encoding: .utf8)
    let capture = try CommandLineTool.run(
      "capture", ["--prompt-file", "p.txt", "--inputs", "q.txt", "--layers", "3", "--max-new-tokens", "12", "--out", "c.h5"],
      in: directory, timeout: 300)
    XCTAssertEqual(capture.status, 0, capture.stderr)

    let writers = [
      Writer(name: "sv import", tool: "psr", arguments: ["sv", "import", cvec, "--out", "sv/imported.json"], outputs: ["sv/imported.json"]),
      Writer(
        name: "fit", tool: "psr", arguments: ["fit", "--data", "c.h5", "--layer", "3", "--epochs", "3", "--out", "fit/p.psr"],
        outputs: ["fit/p.psr", "fit/p.diffmean.json", "fit/p.const-mse.json"]),
      Writer(
        name: "export gguf", tool: "psr", arguments: ["export", "--format", "gguf", diffmean, "--out", "export/x.gguf"],
        outputs: ["export/x.gguf"]),
      Writer(
        name: "export safetensors", tool: "psr",
        arguments: ["export", "--format", "safetensors", steering, "--out", "export/x.safetensors"], outputs: ["export/x.safetensors"]),
      Writer(name: "report", tool: "psr", arguments: ["report", "--data", "c.h5", "--out", "report/c.html"], outputs: ["report/c.html"]),
      Writer(
        name: "merge", tool: "compare", arguments: ["merge", compareRun, "--out", "merged"],
        outputs: ["merged/results.json", "merged/generations.jsonl", "merged/report.md", "merged/report.html", "merged/tradeoff.svg"]),
    ]
    for w in writers { try check(w) }
  }
}
