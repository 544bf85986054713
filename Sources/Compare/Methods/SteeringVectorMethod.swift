import Steering

/// FSSV or PrOSV: a vector and its α trained through the model on the capture's (unprompted
/// prompt, prompted response) pairs.
struct SteeringVectorMethod: SteeringMethod {
  let kind: SteeringKind
  var name: String { kind.rawValue }
  var reportsTrainedFactor: Bool { true }

  func fit(_ unit: UnitFit) throws -> SteeringFile? {
    let pairs = try unit.teacherForcedPairs()
    guard !pairs.isEmpty else { return nil }
    var o = SteeringVectorTrainingOptions.defaults(kind: kind, layer: unit.config.layer)
    o.epochs = unit.config.steeringVectorEpochs
    o.batchSize = min(o.batchSize, pairs.count)
    o.maxResponseTokens = unit.config.trainTokens
    o.seed = unit.seed
    unit.log("\(unit.unit.bench) \(unit.unit.id): training \(name)")
    let v = try SteeringVectorTrainer(model: unit.model, options: o).train(pairs)
    var file = try unit.steeringFile(kind, method: name)
    file.vectors = [VectorEntry(layer: v.layer, positions: v.positions, alpha: v.alpha, vector: v.vector)]
    file.training["epochs"] = .number(Double(o.epochs))
    return file
  }
}
