import Steering

/// A steering file or control vector given with `compare --steer`: the same file steers every
/// unit, its factor chosen as for the fitted methods.
struct UserSteeringFile: SteeringMethod {
  let name: String
  let path: String
  var needsCapture: Bool { false }

  func fit(_ unit: UnitFit) throws -> SteeringFile? { try SteeringFile.load(path, for: unit.model) }
}
