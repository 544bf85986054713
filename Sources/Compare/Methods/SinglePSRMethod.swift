import PSR
import Steering

/// S-PSR: one gate at the steered layer, fitted to the capture's deltas there.
struct SinglePSRMethod: SteeringMethod {
  var name: String { BenchMethod.psr.rawValue }

  func fit(_ unit: UnitFit) throws -> SteeringFile? {
    var options = PSRFitOptions()
    options.seed = unit.seed
    let (gate, _) = SinglePSRFit(data: try unit.steeredLayer(), options: options).fit()
    var file = try unit.steeringFile(.psr, method: name)
    file.gates = [gate]
    return file
  }
}
