import Foundation
import LM
import Steering

/// AxBench-style factor-grid selection on held-out examples: the factor whose steered
/// model gives the prompted responses the lowest NLL given the unprompted input
/// (how well steering without the prompt reproduces what the prompt made).
public struct FactorSelection {
  /// AxBench's 14 steering factors.
  public static let axbenchFactors: [Float] = [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.5, 3.0, 4.0, 5.0]

  public let model: DecoderModel
  public let file: SteeringFile

  public init(model: DecoderModel, file: SteeringFile) {
    self.model = model
    self.file = file
  }

  /// The held-out NLL at each factor (token mean), and the best factor.
  public func select(
    _ examples: [TeacherForcedSequence], factors: [Float] = axbenchFactors, batch: Int = 4, progress: (Float, Float) -> Void = { _, _ in }
  ) throws -> (best: Float, losses: [(factor: Float, loss: Float)]) {
    guard !examples.isEmpty, !factors.isEmpty else { throw TrainingError.invalidOptions("no examples or no factors") }
    var losses: [(Float, Float)] = []
    for factor in factors {
      let loss = try model.meanResponseLoss(examples, intervention: try file.intervention(for: model, factor: factor), batch: batch)
      progress(factor, loss)
      losses.append((factor, loss))
    }
    let best = losses.min { $0.1 < $1.1 }!.0
    return (best, losses)
  }
}
