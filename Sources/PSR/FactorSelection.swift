import Foundation
import LM
import Steering

/// AxBench-style factor-grid selection on held-out examples: the factor whose steered
/// model gives the prompted responses the lowest NLL given the unprompted input
/// (how well steering without the prompt reproduces what the prompt made).
public struct FactorSelection {
  /// AxBench's 14 steering factors.
  public static let axbenchFactors: [Float] = [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.5, 3.0, 4.0, 5.0]

  public let model: LlamaModel
  public let file: SteeringFile

  public init(model: LlamaModel, file: SteeringFile) {
    self.model = model
    self.file = file
  }

  /// The held-out NLL at each factor (token mean), and the best factor.
  public func select(
    _ examples: [TeacherForcedSequence], factors: [Float] = axbenchFactors, batch: Int = 4, progress: (Float, Float) -> Void = { _, _ in }
  ) throws -> (best: Float, losses: [(factor: Float, loss: Float)]) {
    guard !examples.isEmpty, !factors.isEmpty else { throw TrainingError.invalidOptions("no examples or no factors") }
    let total = Float(examples.reduce(0) { $0 + $1.response.count })
    var losses: [(Float, Float)] = []
    for factor in factors {
      let intervention = try file.intervention(for: model, factor: factor)
      var loss: Float = 0
      for start in stride(from: 0, to: examples.count, by: batch) {
        let micro = Array(examples[start..<min(examples.count, start + batch)])
        let share = Float(micro.reduce(0) { $0 + $1.response.count }) / total
        loss += share * (try model.responseLoss(micro, intervention: intervention))
      }
      progress(factor, loss)
      losses.append((factor, loss))
    }
    let best = losses.min { $0.1 < $1.1 }!.0
    return (best, losses)
  }
}
