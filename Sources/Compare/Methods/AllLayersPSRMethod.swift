import PSR
import Steering

/// A-PSR: gates at every A-PSR layer, fitted jointly through the model to the prompted states
/// (MSE), from the per-layer mean-delta increments. Its capture holds every A-PSR layer.
struct AllLayersPSRMethod: SteeringMethod {
  var name: String { BenchMethod.apsr.rawValue }

  func captureLayers(_ config: BenchConfig) -> [Int] { config.apsrLayers }

  func fit(_ unit: UnitFit) throws -> SteeringFile? {
    let reader = try unit.requireCapture()
    // IFEval units use the configured objective (log-likelihood by default), the others MSE.
    // (A-PSR's MSE already compares every gate layer: mse-through is S-PSR's objective.)
    let configured = unit.config.ifevalPSRObjective == .mseThrough ? PSRObjective.mse : unit.config.ifevalPSRObjective
    let objective: PSRObjective = unit.unit.bench == .ifeval ? configured : .mse
    var fitter = ModelPSRFit(model: unit.model, layers: unit.config.apsrLayers, objective: objective)
    fitter.epochs = unit.config.apsrEpochs
    fitter.seed = unit.seed
    unit.log("\(unit.unit.bench) \(unit.unit.id): fitting A-PSR at layers \(unit.config.apsrLayers)")
    let examples = try ModelPSRFit.examples(reader, model: unit.model, layers: fitter.targetLayers).filter { !$0.sequence.response.isEmpty }
    var file = try unit.steeringFile(.psr, method: name)
    file.gates = try fitter.fit(examples, from: try fitter.initialGates(reader))
    file.training["layers"] = .string(unit.config.apsrLayers.map(String.init).joined(separator: ","))
    file.training["epochs"] = .number(Double(unit.config.apsrEpochs))
    file.training["objective"] = .string(objective.rawValue)
    return file
  }
}
