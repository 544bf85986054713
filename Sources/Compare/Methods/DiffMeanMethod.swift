import PSR
import Steering

/// DiffMean: the mean of the captured deltas at the steered layer, added at every position.
struct DiffMeanMethod: SteeringMethod {
  var name: String { BenchMethod.diffmean.rawValue }

  func fit(_ unit: UnitFit) throws -> SteeringFile? {
    var file = try unit.steeringFile(.diffmean, method: name)
    let layer = unit.config.layer
    file.vectors = [VectorEntry(layer: layer, positions: .all, alpha: 1, vector: ConstantBaselines.diffMean(try unit.steeredLayer()))]
    return file
  }
}
