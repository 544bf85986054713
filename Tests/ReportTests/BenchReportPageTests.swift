import Compare
import Foundation
import LM
import Report
import Steering
import Store
import TestSupport
import XCTest

/// compare's report.html lists every method and unit of results.json, in its tables, its plot and
/// its embedded data, and puts the unsteered answer beside each steered one.
final class BenchReportPageTests: TemporaryDirectoryTestCase {
  private func results() -> BenchResults {
    let methods = ["prompt", "psr", "prosv", "none"]
    func unit(_ bench: Benchmark, _ id: String, _ h: Double) -> UnitResult {
      UnitResult(
        bench: bench, unitID: id, name: "name-\(id)",
        methods: methods.map { m in
          let s =
            bench == .axbench
            ? ScoreSummary(n: 2, conceptScore: h, instructScore: h, fluencyScore: h, harmonic: h)
            : ScoreSummary(n: 2, traitScore: 50 * h, coherence: 80)
          return MethodResult(
            method: m, factors: [FactorResult(factor: 1, select: s, test: s), FactorResult(factor: 2, select: s, test: s)],
            selectedFactor: 1, score: s, atUnitFactor: nil)
        })
    }
    return BenchResults(
      config: ["seed": "0"], units: [unit(.axbench, "3", 0.5), unit(.axbench, "17", 1.2), unit(.persona, "evil", 0.8)])
  }

  private func generations() throws -> String {
    var lines: [String] = []
    for (unit, method, response) in [("3", "psr", "Boats <ahoy>"), ("3", "none", "Plain answer"), ("17", "prosv", "Trees")] {
      let object: [String: Any] = [
        "bench": "axbench", "unit": unit, "method": method, "factor": 1, "split": "test", "instruction": "Say hi to \(unit)",
        "response": response, "harmonic": 1.0, "seed": "9", "stream": 0,
      ]
      lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  func testEveryMethodAndUnitIsListed() throws {
    let results = results()
    try results.write(to: directory.path + "/results.json")
    try Data(try generations().utf8).write(to: directory.appendingPathComponent("generations.jsonl"))
    try BenchReportPage.write(directory: directory.path, tokenText: nil)
    let html = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
    for method in ["prompt", "psr", "prosv", "none"] {
      XCTAssertTrue(html.contains("<td class=\"l\">\(method)</td>"), "\(method) in the summary tables")
      XCTAssertTrue(html.contains("data-method=\"\(method)\""), "\(method) in the trade-off plot")
    }
    for unit in results.units {
      XCTAssertTrue(
        html.contains("<tr class=\"unit\"><td class=\"l\">\(unit.bench)-\(unit.unitID)</td>"), "\(unit.unitID) in the units table")
    }
    // The embedded data hold every unit and method of results.json.
    let open = "<script type=\"application/json\" id=\"bench-data\">"
    let start = try XCTUnwrap(html.range(of: open)).upperBound
    let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
    let data = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(html[start..<end].utf8)) as? [String: Any])
    let embedded = try JSONDecoder().decode(
      BenchResults.self, from: try JSONSerialization.data(withJSONObject: try XCTUnwrap(data["results"])))
    XCTAssertEqual(embedded, results)
    XCTAssertEqual((data["generations"] as? [Any])?.count, 3)
    // The steered answer beside the unsteered one to the same instruction, escaped.
    XCTAssertTrue(html.contains("Boats &lt;ahoy&gt;"))
    let psrRow = try XCTUnwrap(html.components(separatedBy: "<div class=\"gen\">").first { $0.contains("Boats &lt;ahoy&gt;") })
    XCTAssertTrue(psrRow.contains("Plain answer"), psrRow)
    XCTAssertEqual(psrRow.components(separatedBy: "harmonic 1.00").count, 3, "the judge's scores beside both answers")
    XCTAssertFalse(html.contains("Boats <ahoy>"))
  }

  /// A unit whose capture cannot be shown is named on the page; the report is still written.
  func testAUnitCaptureThatCannotBeShownIsNamed() throws {
    try results().write(to: directory.path + "/results.json")
    try Data(try generations().utf8).write(to: directory.appendingPathComponent("generations.jsonl"))
    let unit = directory.appendingPathComponent("units/axbench-3")
    try FileManager.default.createDirectory(at: unit, withIntermediateDirectories: true)
    let header = ActivationHeader(
      modelName: "test", modelSHA256: "abc", layerCount: 30, modelDimension: 4, steeringPrompt: "P", promptPosition: "prefix",
      chatTemplateID: "chatml", seed: 7, created: "now", toolVersion: "test", layers: [3], storage: "float32")
    try ActivationWriter.create(path: unit.appendingPathComponent("capture.h5").path, header: header).close()
    var psr = SteeringFile(
      kind: .psr, model: ModelFingerprint(name: "test", sha256: "abc", layerCount: 30, modelDimension: 4), tokenizer: "t",
      chatTemplate: "c")
    psr.gates = [GateEntry(layer: 3, weight: [1, 0, 0, 0], bias: 0, direction: [0, 1, 0, 0])]
    try psr.save(unit.appendingPathComponent("psr.json").path)
    try BenchReportPage.write(directory: directory.path, tokenText: { "t\($0)" })
    let html = try String(contentsOf: directory.appendingPathComponent("report.html"), encoding: .utf8)
    XCTAssertTrue(html.contains("axbench-3 (name-3): not shown:"), "the unit is named")
    XCTAssertTrue(html.contains("holds no complete example to report on"))
  }
}
