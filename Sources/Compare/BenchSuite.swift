import Foundation
import Judges
import LM

/// A whole `compare` run: units of the chosen benches, sharded and resumable, and the files
/// it writes: results.json, generations.jsonl, timing.json, report.md and tradeoff.svg.
public struct BenchSuite {
  public let runner: BenchRunner
  public let units: [BenchUnit]
  public let outputDirectory: String
  /// `--shard i/N`: this run takes units whose index is i modulo N.
  public var shard: (index: Int, count: Int) = (0, 1)
  public var resume = false

  public init(runner: BenchRunner, units: [BenchUnit], outputDirectory: String) {
    self.runner = runner
    self.units = units
    self.outputDirectory = outputDirectory
  }

  public var myUnits: [BenchUnit] { units.enumerated().filter { $0.offset % shard.count == shard.index }.map(\.element) }

  static func unitDirectory(_ root: String, _ unit: BenchUnit) -> String { "\(root)/units/\(unit.bench)-\(unit.id)" }

  /// Runs the shard's units (skipping finished ones with `resume`), then writes the outputs.
  public func run(progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> BenchResults {
    let fm = FileManager.default
    let mine = myUnits
    for (i, unit) in mine.enumerated() {
      let dir = Self.unitDirectory(outputDirectory, unit)
      let resultPath = dir + "/result.json"
      progress(i, mine.count, "\(unit.bench) \(unit.id)")
      if resume && fm.fileExists(atPath: resultPath) { continue }
      try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
      let (result, records, timing) = try runner.run(unit, directory: dir)
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      try Data(records.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n").utf8 + [10])
        .write(to: URL(fileURLWithPath: dir + "/generations.jsonl"), options: .atomic)
      try encoder.encode(timing).write(to: URL(fileURLWithPath: dir + "/timing.json"), options: .atomic)
      // The result last: its presence marks the unit as done.
      try encoder.encode(result).write(to: URL(fileURLWithPath: resultPath), options: .atomic)
    }
    progress(mine.count, mine.count, "done")
    return try Self.collect(directories: [outputDirectory], into: outputDirectory, config: runner.config.record)
  }

  /// Gathers finished units from run directories (one, or the shards of a run) and writes the
  /// combined results.json, generations.jsonl, report.md and tradeoff.svg into `output`.
  public static func collect(directories: [String], into output: String, config: [String: String]) throws -> BenchResults {
    let fm = FileManager.default
    var units: [String: UnitResult] = [:]
    var generations: [String: Data] = [:]
    var timings: [String: [MethodTiming]] = [:]
    for root in directories {
      let unitsDir = root + "/units"
      for name in (try? fm.contentsOfDirectory(atPath: unitsDir)) ?? [] {
        let dir = unitsDir + "/" + name
        guard let data = fm.contents(atPath: dir + "/result.json") else { continue }
        do { units[name] = try JSONDecoder().decode(UnitResult.self, from: data) } catch {
          throw CompareError.malformed(path: dir + "/result.json", reason: "\(error)")
        }
        generations[name] = fm.contents(atPath: dir + "/generations.jsonl") ?? Data()
        timings[name] =
          (fm.contents(atPath: dir + "/timing.json")).flatMap { try? JSONDecoder().decode([MethodTiming].self, from: $0) } ?? []
      }
    }
    try fm.createDirectory(atPath: output, withIntermediateDirectories: true)
    let results = BenchResults(config: config, units: Array(units.values))
    try results.write(to: output + "/results.json")
    var all = Data()
    for key in generations.keys.sorted() { all.append(generations[key]!) }
    try all.write(to: URL(fileURLWithPath: output + "/generations.jsonl"), options: .atomic)
    try BenchReport.markdown(results, timings: timings.keys.sorted().flatMap { timings[$0]! })
      .write(toFile: output + "/report.md", atomically: true, encoding: .utf8)
    try BenchReport.tradeoffSVG(results).write(toFile: output + "/tradeoff.svg", atomically: true, encoding: .utf8)
    return results
  }
}
