import Capture
import Compare
import Foundation
import LM
import Steering
import Store
import TestSupport
import XCTest

/// Any unit name (any UTF-8) and any UInt64 run seed, through everything a unit's seed and name
/// reach: the unit-seed derivation, the capture header (written to HDF5 and read back), the steering
/// file's header (saved and loaded) and results.json. `Int(seed)` trapped here for half of all
/// seeds; every name and seed now either round-trips byte for byte or is refused with one line.
final class UnitSeedPropertyTests: TemporaryDirectoryTestCase {
  /// Each case writes and reads an HDF5 file and a steering file (a few ms), so fewer than the grammars.
  static let cases = 300

  func testAnyUnitNameAndSeedRoundTripsThroughHeadersAndResults() throws {
    let model = try Fixtures.model()
    var r = RandomInput()
    var units: [UnitResult] = []
    var seeds: [String: UInt64] = [:]
    var high = 0
    for i in 0..<Self.cases {
      let name = r.text(maxLength: 20)
      let runSeed = r.seed()
      let bench = r.pick([Benchmark.axbench, .persona])
      let unit = BenchUnit(
        bench: bench, id: name, name: name, steeringPrompt: name, trainInstructions: [], evalInstructions: [], target: .concept(name))
      let seed = unit.seed(runSeed: runSeed)
      XCTAssertEqual(unit.seed(runSeed: runSeed), seed, "the derivation is a function")
      XCTAssertEqual(unit.seed(runSeed: runSeed) ^ runSeed, unit.seed(runSeed: 0), "the run seed enters by XOR")
      if seed >= 1 << 63 { high += 1 }

      // The capture header, through a real HDF5 file.
      let capture = try ActivationCapture(
        model: model, options: CaptureOptions(steeringPrompt: name, promptPosition: .prefix, layers: [0], seed: seed))
      let header = try capture.header(toolVersion: "property test")
      let path = directory.appendingPathComponent("case-\(i).h5").path
      if name.utf8.contains(0) {
        XCTAssertThrowsError(try ActivationWriter.create(path: path, header: header)) { error in
          XCTAssertTrue("\(error)".contains("NUL"), "\(error)")
        }
      } else {
        try ActivationWriter.create(path: path, header: header).close()
        let read = try ActivationReader(path: path).header
        XCTAssertEqual(read.seed, seed, "case \(i): seed \(seed)")
        XCTAssertEqual(Array(read.steeringPrompt.utf8), Array(name.utf8), "case \(i): the name's bytes")
      }

      // The steering file's header.
      var file = try SteeringFile(kind: .diffmean, for: model)
      file.vectors = [VectorEntry(layer: 0, positions: .all, alpha: 1, vector: [Float](repeating: 0.5, count: model.configuration.modelDimension))]
      file.training = ["seed": .string(String(seed)), "unit": .string(name)]
      let steeringPath = directory.appendingPathComponent("case-\(i).json").path
      try file.save(steeringPath)
      let loaded = try SteeringFile.load(steeringPath)
      XCTAssertEqual(loaded.training["seed"], .string(String(seed)))
      if case .string(let s) = loaded.training["unit"] { XCTAssertEqual(Array(s.utf8), Array(name.utf8)) } else { XCTFail("unit") }

      units.append(
        UnitResult(
          bench: bench, unitID: name, name: name,
          methods: [
            MethodResult(
              method: "none", factors: [FactorResult(factor: 1, select: ScoreSummary(n: 1, harmonic: 0.5), test: nil)], selectedFactor: nil,
              score: ScoreSummary(n: 1, harmonic: 0.5), atUnitFactor: nil)
          ]))
      seeds["\(bench)-\(i)"] = seed
    }
    XCTAssertGreaterThan(high, Self.cases / 4, "about half of the derived seeds should be 2⁶³ or more")

    // results.json with every name, and the run's seed as written in config.json.
    let results = BenchResults(config: ["seed": String(UInt64.max)], units: units)
    let resultsPath = directory.appendingPathComponent("results.json").path
    try results.write(to: resultsPath)
    let back = try BenchResults.load(resultsPath)
    XCTAssertEqual(back.config["seed"], String(UInt64.max))
    XCTAssertEqual(back.units.count, units.count)
    // results.json orders units by bench and id; compare the names' bytes as sorted lists.
    func bytes(_ u: [UnitResult]) -> [[UInt8]] {
      u.flatMap { [Array(($0.bench.rawValue + "\u{0}" + $0.unitID).utf8), Array(("name\u{0}" + $0.name).utf8)] }
        .sorted { $0.lexicographicallyPrecedes($1) }
    }
    XCTAssertEqual(bytes(back.units), bytes(units))
  }
}
