import PSR
import Steering

/// S-PSR: one gate at the steered layer, fitted to the capture's deltas there (MSE, from the file
/// alone), or on IFEval units (`ifevalPSRObjective`) through the frozen model: to the prompted
/// responses' log-likelihood (the default, as the PSR paper trains it for instruction following) or
/// to the prompted states at the steered and every later layer (`mse-through`, whose capture then
/// holds those layers).
struct SinglePSRMethod: SteeringMethod {
  var name: String { BenchMethod.psr.rawValue }

  func captureLayers(_ config: BenchConfig) -> [Int] {
    config.ifevalPSRObjective == .mseThrough && config.modelLayerCount > config.layer
      ? Array(config.layer..<config.modelLayerCount) : [config.layer]
  }

  func fit(_ unit: UnitFit) throws -> SteeringFile? {
    let objective = unit.config.ifevalPSRObjective
    if unit.unit.bench == .ifeval && objective != .mse {
      let reader = try unit.requireCapture()
      var fitter = ModelPSRFit(model: unit.model, layers: [unit.config.layer], objective: objective)
      fitter.seed = unit.seed
      unit.log("\(unit.unit.bench) \(unit.unit.id): fitting S-PSR through the model (\(objective.rawValue))")
      let examples = try ModelPSRFit.examples(reader, model: unit.model, layers: fitter.targetLayers).filter { !$0.sequence.response.isEmpty }
      guard !examples.isEmpty else { return nil }
      var file = try unit.steeringFile(.psr, method: name)
      file.gates = try fitter.fit(examples, from: try fitter.initialGates(reader))
      file.training["objective"] = .string(objective.rawValue)
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
