import Steering

/// FSSV or PrOSV: a vector and its α trained through the model on the capture's (unprompted
/// prompt, prompted response) pairs, with the language-modelling loss, or with SimPO preferring
/// the prompted response to the model's own greedy answer to the unprompted prompt.
struct SteeringVectorMethod: SteeringMethod {
  let kind: SteeringKind
  var objective: SteeringObjective = .lm
  var name: String { objective == .lm ? kind.rawValue : "\(kind.rawValue)-\(objective.rawValue)" }
  var reportsTrainedFactor: Bool { true }

  func fit(_ unit: UnitFit) throws -> SteeringFile? {
    let sequences = try unit.teacherForcedPairs()
    guard !sequences.isEmpty else { return nil }
    var o = SteeringVectorTrainingOptions.defaults(kind: kind, layer: unit.config.layer)
    o.epochs = unit.config.steeringVectorEpochs
    o.batchSize = min(o.batchSize, sequences.count)
    o.maxResponseTokens = unit.config.trainTokens
    o.seed = unit.seed
    o.objective = objective
    unit.log("\(unit.unit.bench) \(unit.unit.id): training \(name)")
    let trainer = try SteeringVectorTrainer(model: unit.model, options: o)
    let v: AdditiveVector
    switch objective {
    case .lm: v = try trainer.train(sequences)
    case .simpo:
      let pairs = try unit.preferencePairs()
      guard !pairs.isEmpty else { return nil }
      v = try trainer.train(pairs: pairs)
    }
    var file = try unit.steeringFile(kind, method: name)
    file.vectors = [VectorEntry(layer: v.layer, positions: v.positions, alpha: v.alpha, vector: v.vector)]
    file.training["epochs"] = .number(Double(o.epochs))
    file.training["objective"] = .string(objective.rawValue)
    if objective == .simpo {
      file.training["simpo_beta"] = .number(Double(o.simpo.beta))
      file.training["simpo_gamma"] = .number(Double(o.simpo.gamma))
    }
    return file
  }
}
