import Foundation
import LM
import Steering

/// One method of a benchmark: how it is fitted on a unit, and how its generations are prompted.
///
/// A fitted method is a steering file, the same file that `psr generate --steer` reads: the runner
/// saves it in the unit's folder as `NAME.json` and steers the unit's generations with
/// `SteeringFile.intervention(for:factor:)`, so that any generation in generations.jsonl can be
/// replayed from the unit's folder with its factor, seed and stream.
///
/// Adding a method is a type conforming to this protocol in `Methods/` and a case of
/// ``BenchMethod`` (its registration).
public protocol SteeringMethod: Sendable {
  /// The name in results.json, in generations.jsonl and of the unit's steering file.
  var name: String { get }
  /// Whether the method steers at all; prompting and the unsteered model do not (nothing to fit).
  var steers: Bool { get }
  /// Whether generation starts from the prompted prompt (the prompting baseline) instead of the
  /// bare chat prompt of the instruction.
  var promptsTheModel: Bool { get }
  /// Whether fitting reads the unit's capture (the runner captures once for all that do).
  var needsCapture: Bool { get }
  /// The layers the unit's capture must hold for this method.
  func captureLayers(_ config: BenchConfig) -> [Int]
  /// Whether the method's factor-1 results are also reported as `NAME@trained`: vectors trained
  /// jointly with their α, scored at that α without selection.
  var reportsTrainedFactor: Bool { get }
  /// The method fitted on `unit`; nil where there is nothing to fit from (no response captured).
  func fit(_ unit: UnitFit) throws -> SteeringFile?
}

extension SteeringMethod {
  public var steers: Bool { true }
  public var promptsTheModel: Bool { false }
  public var needsCapture: Bool { true }
  public func captureLayers(_ config: BenchConfig) -> [Int] { [config.layer] }
  public var reportsTrainedFactor: Bool { false }
}

/// The registration of the built-in methods (`compare --methods`).
extension BenchMethod {
  public var method: any SteeringMethod {
    switch self {
    case .prompt: Prompting()
    case .none: Unsteered()
    case .psr: SinglePSRMethod()
    case .apsr: AllLayersPSRMethod()
    case .diffmean: DiffMeanMethod()
    case .prosv: SteeringVectorMethod(kind: .prosv)
    case .fssv: SteeringVectorMethod(kind: .fssv)
    case .diffmeanLast: LastTokenDiffMeanMethod()
    case .diffmeanProj: LastTokenDiffMeanMethod(variant: .projection)
    case .prosvSimpo: SteeringVectorMethod(kind: .prosv, objective: .simpo)
    case .fssvSimpo: SteeringVectorMethod(kind: .fssv, objective: .simpo)
    }
  }
}

extension BenchConfig {
  /// The run's methods: the built-in ones by name, then the user's steering files.
  public var steeringMethods: [any SteeringMethod] {
    methods.map { name in
      BenchMethod(rawValue: name)?.method ?? UserSteeringFile(name: name, path: steeringFiles[name] ?? "")
    }
  }
}
