import PSR
import Steering

/// S-PSR: one gate at the steered layer, fitted to the capture's deltas there (MSE, from the file
/// alone), or on IFEval units by default to the prompted responses' log-likelihood through the
/// frozen model (`ifevalPSRObjective`), as the PSR paper trains it for instruction following.
struct SinglePSRMethod: SteeringMethod {
  var name: String { BenchMethod.psr.rawValue }

  func fit(_ unit: UnitFit) throws -> SteeringFile? {
    if unit.unit.bench == "ifeval" && unit.config.ifevalPSRObjective == .ll {
      let reader = try unit.requireCapture()
      var fitter = ModelPSRFit(model: unit.model, layers: [unit.config.layer], objective: .ll)
      fitter.seed = unit.seed
      unit.log("\(unit.unit.bench) \(unit.unit.id): fitting S-PSR to the prompted responses' likelihood")
      let examples = try ModelPSRFit.examples(reader, model: unit.model, layers: fitter.targetLayers).filter { !$0.sequence.response.isEmpty }
      guard !examples.isEmpty else { return nil }
      var file = try unit.steeringFile(.psr, method: name)
      file.gates = try fitter.fit(examples, from: try fitter.initialGates(reader))
      file.training["objective"] = .string("ll")
      return file
    }
    var options = PSRFitOptions()
    options.seed = unit.seed
    let (gate, _) = SinglePSRFit(data: try unit.steeredLayer(), options: options).fit()
    var file = try unit.steeringFile(.psr, method: name)
    file.gates = [gate]
    return file
  }
}
