import Steering

/// The prompting baseline: the steering prompt itself, prepended to each instruction.
struct Prompting: SteeringMethod {
  var name: String { BenchMethod.prompt.rawValue }
  var steers: Bool { false }
  var promptsTheModel: Bool { true }
  var needsCapture: Bool { false }
  func fit(_ unit: UnitFit) throws -> SteeringFile? { nil }
}

/// The model as it is, neither prompted nor steered.
struct Unsteered: SteeringMethod {
  var name: String { BenchMethod.none.rawValue }
  var steers: Bool { false }
  var needsCapture: Bool { false }
  func fit(_ unit: UnitFit) throws -> SteeringFile? { nil }
}
