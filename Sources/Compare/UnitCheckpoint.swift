import Foundation
import LM

/// The stages a unit has finished, kept in its folder (`stages/`) so that a run killed inside a
/// unit goes on from the last finished stage instead of starting the unit over. At the paper
/// budget one AxBench unit is hours on two cores (SimPO training, 15 operating points × 100
/// GSM8K problems), so unit-level resume alone never finished one in a session.
///
/// - `capture.json`: the seconds the capture took (the capture itself is `capture.h5`);
/// - `method-NAME.json`: a method's results, generations and timing, written after its evaluation;
/// - `suppressed.json`: the unit's suppressed test instructions;
/// - `point-LABEL.json`: one operating point, its suppressed generations and the seconds it took.
///
/// Each is written atomically after its stage. A missing or unreadable one is redone (and said
/// so), never trusted. Only a directory with the same settings reaches here (config.json is checked
/// on `--resume`), and every stage is deterministic in the unit's seed, so a resumed unit writes
/// what an uninterrupted one would.
struct UnitCheckpoint {
  let unitDirectory: String
  let directory: String
  let log: (String) -> Void

  init(unitDirectory: String, log: @escaping (String) -> Void) {
    self.unitDirectory = unitDirectory
    directory = unitDirectory + "/stages"
    self.log = log
  }

  /// Whether an earlier run finished any stage of this unit (a capture still being written
  /// counts too): then this run does only part of the unit's work.
  var isBegun: Bool {
    let fm = FileManager.default
    let names = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
    return !names.isEmpty || fm.fileExists(atPath: unitDirectory + "/capture.h5.partial")
  }

  struct CaptureStage: Codable { var seconds: Double }

  struct MethodStage: Codable {
    var results: [MethodResult]
    var records: [GenerationRecord]
    var timing: MethodTiming
  }

  struct PointStage: Codable {
    var point: OperatingPoint
    var records: [GenerationRecord]
    var seconds: Double
  }

  /// A file name for a method or point label: letters, digits, `.`, `-` and `_` as they are,
  /// anything else (`@`, `α`, a user's file name) as `%XX` bytes.
  static func fileName(_ kind: String, _ label: String) -> String {
    var name = kind + "-"
    for b in label.utf8 {
      switch b {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"):
        name.unicodeScalars.append(Unicode.Scalar(b))
      default:
        name += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
      }
    }
    return name + ".json"
  }

  func load<T: Decodable>(_ type: T.Type, _ name: String) -> T? {
    let path = directory + "/" + name
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    do { return try JSONDecoder().decode(T.self, from: data) } catch {
      log("resume: \(path) is unreadable (\(describeDecodingFailure(error))); redoing that stage")
      return nil
    }
  }

  func save<T: Encodable>(_ value: T, _ name: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    try encoder.encode(value).write(to: URL(fileURLWithPath: directory + "/" + name), options: .atomic)
  }

  func capture() -> CaptureStage? { load(CaptureStage.self, "capture.json") }
  func save(capture: CaptureStage) throws { try save(capture, "capture.json") }
  func method(_ name: String) -> MethodStage? { load(MethodStage.self, Self.fileName("method", name)) }
  func save(method: MethodStage, name: String) throws { try save(method, Self.fileName("method", name)) }
  func suppressed() -> [String]? { load([String].self, "suppressed.json") }
  func save(suppressed: [String]) throws { try save(suppressed, "suppressed.json") }
  func point(_ label: String) -> PointStage? { load(PointStage.self, Self.fileName("point", label)) }
  func save(point: PointStage) throws { try save(point, Self.fileName("point", point.point.label)) }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
