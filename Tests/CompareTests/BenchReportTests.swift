import Compare
import Foundation
import TestSupport
import XCTest

/// report.md as `compare merge` writes it from unit directories on disk.
final class BenchReportTests: TemporaryDirectoryTestCase {
  private func writeUnit(_ unit: UnitResult, timing: String) throws {
    let dir = directory.appendingPathComponent("units/\(unit.bench)-\(unit.unitID)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try JSONEncoder().encode(unit).write(to: dir.appendingPathComponent("result.json"))
    try Data(timing.utf8).write(to: dir.appendingPathComponent("timing.json"))
  }

  private func row(_ report: String, section: String, method: String) throws -> [String] {
    let part = try XCTUnwrap(report.components(separatedBy: "## ").first { $0.hasPrefix(section) })
    let line = try XCTUnwrap(part.split(separator: "\n").first { $0.hasPrefix("| \(method) |") })
    // Cells between the pipes: [method, units, …].
    return line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
  }

  /// A run below the paper protocol says it is a smoke test, in report.md; a paper-sized one does not.
  func testSmallRunsAreCalledSmokeTests() {
    let unit = UnitResult(bench: .axbench, unitID: "0", name: "c", methods: [])
    let small = BenchResults(config: BenchConfig.small.record, units: [unit])
    let paper = BenchResults(config: BenchConfig.paper.record, units: [unit])
    XCTAssertTrue(BenchReport.smokeTestNote(small)?.hasPrefix("Smoke test, not a measurement") ?? false)
    XCTAssertTrue(BenchReport.markdown(small, timings: [:]).contains("Smoke test, not a measurement"))
    XCTAssertNil(BenchReport.smokeTestNote(paper))
    XCTAssertFalse(BenchReport.markdown(paper, timings: [:]).contains("Smoke test"))
  }

  /// Each bench's table shows its own units' speeds, and training time per unit, not a sum.
  func testSpeedsAreTakenPerBenchAndTrainingTimePerUnit() throws {
    let concept = ScoreSummary(n: 5, conceptScore: 1, instructScore: 1, fluencyScore: 1, harmonic: 1)
    let trait = ScoreSummary(n: 20, traitScore: 50, coherence: 90)
    for (id, train, seconds) in [("0", 100.0, 10.0), ("1", 300.0, 30.0)] {
      try writeUnit(
        UnitResult(
          bench: .axbench, unitID: id, name: "c\(id)",
          methods: [
            MethodResult(
              method: "fssv", factors: [FactorResult(factor: 1, select: concept, test: concept)], selectedFactor: 1, score: concept,
              atUnitFactor: nil)
          ]),
        timing: #"[{"method":"fssv","trainSeconds":\#(train),"generateSeconds":\#(seconds),"generatedTokens":1000}]"#)
    }
    try writeUnit(
      UnitResult(
        bench: .persona, unitID: "evil", name: "evil",
        methods: [
          MethodResult(
            method: "fssv", factors: [FactorResult(factor: 1, select: trait, test: nil)], selectedFactor: 1, score: trait,
            atUnitFactor: trait)
        ]),
      timing: #"[{"method":"fssv","trainSeconds":7000,"generateSeconds":1,"generatedTokens":1000}]"#)

    _ = try BenchSuite.collect(directories: [directory.path], into: directory.path, config: ["seed": "0"])
    let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)

    let axbench = try row(report, section: "AxBench", method: "fssv")
    XCTAssertEqual(axbench[1], "2", "concepts")
    XCTAssertEqual(axbench[6], "50", "2000 tokens in 40 s, the persona unit left out")
    XCTAssertEqual(axbench[8], "200", "mean of 100 and 300 s per concept")
    let persona = try row(report, section: "Persona", method: "fssv")
    XCTAssertEqual(persona[2], "50.0 ± –", "one trait gives no interval")
    XCTAssertEqual(persona[8], "1000", "after TA@C80 and its coherence")
    XCTAssertEqual(persona[9], "7000")
  }

  /// Differences are taken unit by unit against prompting; the interval is the paired one.
  func testPairedTableAgainstPrompting() throws {
    func unit(_ id: String, prompt: Double, psr: Double) -> UnitResult {
      let methods = [("prompt", prompt), ("psr", psr)].map { m, h in
        MethodResult(
          method: m, factors: [], selectedFactor: nil,
          score: ScoreSummary(n: 5, conceptScore: h, instructScore: h, fluencyScore: h, harmonic: h), atUnitFactor: nil)
      }
      return UnitResult(bench: .axbench, unitID: id, name: id, methods: methods)
    }
    // Hard and easy units move both methods together; psr is above by 0.1, 0.2 and 0.3.
    for u in [unit("0", prompt: 0.1, psr: 0.2), unit("1", prompt: 1.5, psr: 1.7), unit("2", prompt: 0.8, psr: 1.1)] {
      try writeUnit(u, timing: "[]")
    }
    _ = try BenchSuite.collect(directories: [directory.path], into: directory.path, config: [:])
    let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
    let cells = try row(report, section: "AxBench", method: "psr")
    XCTAssertEqual(cells.count, 9, "the headline row comes first")
    let paired = try XCTUnwrap(report.split(separator: "\n").first { $0.hasPrefix("| psr | 3 | 0.200 ±") })
    // sd of (0.1, 0.2, 0.3) = 0.1; t(2) = 4.303; half-width 4.303 · 0.1 / √3 = 0.248.
    XCTAssertTrue(paired.contains("0.200 ± 0.248 | 3 / 0 / 0"), String(paired))
  }

  func testTQuantile() {
    XCTAssertEqual(Statistics.tQuantile975(degreesOfFreedom: 1), 12.706, accuracy: 1e-9)
    XCTAssertEqual(Statistics.tQuantile975(degreesOfFreedom: 20), 2.086, accuracy: 1e-9)
    // Exact values at 40 and 120 degrees of freedom: 2.0211, 1.9799.
    XCTAssertEqual(Statistics.tQuantile975(degreesOfFreedom: 40), 2.0211, accuracy: 0.003)
    XCTAssertEqual(Statistics.tQuantile975(degreesOfFreedom: 120), 1.9799, accuracy: 0.003)
    XCTAssertEqual(Statistics.ci95([1, 2, 3]), 4.303 / 3.squareRoot(), accuracy: 1e-9)
  }
}
