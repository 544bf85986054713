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

  /// Each bench's table shows its own units' speeds, and training time per unit, not a sum.
  func testSpeedsAreTakenPerBenchAndTrainingTimePerUnit() throws {
    let concept = ScoreSummary(n: 5, conceptScore: 1, instructScore: 1, fluencyScore: 1, harmonic: 1)
    let trait = ScoreSummary(n: 20, traitScore: 50, coherence: 90)
    for (id, train, seconds) in [("0", 100.0, 10.0), ("1", 300.0, 30.0)] {
      try writeUnit(
        UnitResult(
          bench: "axbench", unitID: id, name: "c\(id)",
          methods: [
            MethodResult(
              method: "fssv", factors: [FactorResult(factor: 1, select: concept, test: concept)], selectedFactor: 1, score: concept,
              atUnitFactor: nil)
          ]),
        timing: #"[{"method":"fssv","trainSeconds":\#(train),"generateSeconds":\#(seconds),"generatedTokens":1000}]"#)
    }
    try writeUnit(
      UnitResult(
        bench: "persona", unitID: "evil", name: "evil",
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
    XCTAssertEqual(persona[6], "1000")
    XCTAssertEqual(persona[7], "7000")
  }
}
