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
  /// Start over in a directory that holds another run (its units/ are removed first).
  public var force = false

  public init(runner: BenchRunner, units: [BenchUnit], outputDirectory: String) {
    self.runner = runner
    self.units = units
    self.outputDirectory = outputDirectory
  }

  public var myUnits: [BenchUnit] { units.enumerated().filter { $0.offset % shard.count == shard.index }.map(\.element) }

  static func unitDirectory(_ root: String, _ unit: BenchUnit) -> String { "\(root)/units/\(unit.bench)-\(unit.id)" }

  /// Whether an earlier run finished a stage of the unit in `unitDirectory` or began its capture.
  public static func unitIsBegun(_ unitDirectory: String) -> Bool {
    UnitCheckpoint(unitDirectory: unitDirectory, log: { _ in }).isBegun
  }

  /// Where a run stands: `done` of `total` units, `resumed` of them finished or begun by an
  /// earlier run (those count toward the bar, not toward the rate that estimates the rest: a unit
  /// resumed from its stages took only its last part here).
  public struct Progress {
    public var done: Int
    public var resumed: Int
    public var total: Int
    /// The unit now running ("axbench 3"), or "done".
    public var unit: String
  }

  /// Runs the shard's units (skipping finished ones with `resume`), then writes the outputs.
  public func run(progress: (Progress) -> Void = { _ in }) throws -> BenchResults {
    let fm = FileManager.default
    try recordSettings()
    let mine = myUnits
    var resumed = 0
    for (i, unit) in mine.enumerated() {
      let dir = Self.unitDirectory(outputDirectory, unit)
      let resultPath = dir + "/result.json"
      progress(Progress(done: i, resumed: resumed, total: mine.count, unit: "\(unit.bench) \(unit.id)"))
      if resume && fm.fileExists(atPath: resultPath) {
        runner.log("resume: \(unit.bench) \(unit.id) is already done in \(dir); skipped")
        resumed += 1
        continue
      }
      try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
      let begun = Self.unitIsBegun(dir)
      let (result, records, timing) = try runner.run(unit, directory: dir)
      if begun { resumed += 1 }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      try Data(records.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n").utf8 + [10])
        .write(to: URL(fileURLWithPath: dir + "/generations.jsonl"), options: .atomic)
      try encoder.encode(timing).write(to: URL(fileURLWithPath: dir + "/timing.json"), options: .atomic)
      // The result last: its presence marks the unit as done.
      try encoder.encode(result).write(to: URL(fileURLWithPath: resultPath), options: .atomic)
    }
    progress(Progress(done: mine.count, resumed: resumed, total: mine.count, unit: "done"))
    return try Self.collect(directories: [outputDirectory], into: outputDirectory, config: runner.config.record)
  }

  /// Writes the run's settings to config.json, so that a partial run can be merged with them;
  /// refuses to add units to a directory started with other settings.
  func recordSettings() throws {
    let path = outputDirectory + "/config.json"
    if let existing = try Self.settings(of: outputDirectory) {
      if force {
        // Another run's units would be collected with this one's: they go, the rest of the folder stays.
        try? FileManager.default.removeItem(atPath: outputDirectory + "/units")
      } else if existing != runner.config.record {
        let changed = Set(existing.keys).union(runner.config.record.keys).filter { existing[$0] != runner.config.record[$0] }.sorted()
        throw CompareError.invalid(
          "\(outputDirectory) holds a run with other settings (\(changed.joined(separator: ", "))); use another --out, the same options, or --force to start over")
      } else if !resume {
        throw CompareError.invalid(
          "\(outputDirectory) holds a run already; --resume continues it, --force starts it over, or give another --out")
      }
    }
    try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(runner.config.record).write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  /// The settings a run directory was started with (config.json), if it has them.
  public static func settings(of directory: String) throws -> [String: String]? {
    guard let data = FileManager.default.contents(atPath: directory + "/config.json") else { return nil }
    do { return try JSONDecoder().decode([String: String].self, from: data) } catch {
      throw CompareError.malformed(path: directory + "/config.json", reason: describeDecodingFailure(error))
    }
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
          throw CompareError.malformed(path: dir + "/result.json", reason: describeDecodingFailure(error))
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
    let timingsByBench = Dictionary(grouping: timings.keys.sorted()) { units[$0]!.bench.rawValue }.mapValues { $0.flatMap { timings[$0]! } }
    try BenchReport.markdown(results, timings: timingsByBench)
      .write(toFile: output + "/report.md", atomically: true, encoding: .utf8)
    try BenchReport.tradeoffSVG(results).write(toFile: output + "/tradeoff.svg", atomically: true, encoding: .utf8)
    if let utility = BenchReport.utilitySVG(results) {
      try utility.write(toFile: output + "/utility.svg", atomically: true, encoding: .utf8)
    }
    return results
  }
}
