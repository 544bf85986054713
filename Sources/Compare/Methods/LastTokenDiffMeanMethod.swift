import Foundation
import LM
import Steering

/// DiffMean at the last prompt token, as Stolfo et al. ("Improving Instruction-Following in Language
/// Models through Activation Steering", ICLR 2025) compute instruction directions: the mean, over
/// the unit's training prompts, of the residual after the steered layer at the prompt's last token
/// with the prompt's own instruction (IFEval: its varied wording) minus without it. It is added at the last prompt token and at every
/// generated token, the positions the paper steers.
///
/// Additive (`diffmean-last`): Stolfo et al. steer with the unit-norm direction times a coefficient
/// they choose per instruction; here the difference keeps its own length, which the factor grid
/// scales (factor 1: the measured mean difference).
///
/// Projection (`diffmean-proj`), their other variant: each touched state's projection onto the unit
/// direction û is set to c, the mean projection of the prompted last-token states (``ProjectionShift``);
/// the factor scales c.
struct LastTokenDiffMeanMethod: SteeringMethod {
  enum Variant { case additive, projection }
  var variant = Variant.additive
  var name: String { variant == .additive ? BenchMethod.diffmeanLast.rawValue : BenchMethod.diffmeanProj.rawValue }
  var needsCapture: Bool { false }

  func fit(_ unit: UnitFit) throws -> SteeringFile? {
    let model = unit.model
    let layer = unit.config.layer
    let d = model.configuration.modelDimension
    let recorder = LayerRecorder(layers: [layer])
    var sum = [Double](repeating: 0, count: d)
    var prompted: [[Float]] = []
    var count = 0
    let batch = max(1, unit.config.captureBatch)
    let pairs = unit.unit.trainInstructions.enumerated().map {
      model.promptPair(instruction: $0.element, steeringPrompt: unit.unit.trainSteeringPrompt($0.offset), position: unit.unit.promptPosition)
    }
    unit.log("\(unit.unit.bench) \(unit.unit.id): the last prompt token's difference over \(pairs.count) prompts")
    for start in stride(from: 0, to: pairs.count, by: batch) {
      let part = pairs[start..<min(pairs.count, start + batch)]
      let chunks = part.flatMap { pair in
        [pair.prompted, pair.unprompted].map { ForwardChunk(tokens: $0, cache: model.makeCache(capacity: $0.count), promptLength: $0.count) }
      }
      try model.forward(chunks, logits: .none, intervention: recorder)
      // The last row of each chunk, in packed order: prompted, unprompted, prompted, …
      var end = 0
      var rows: [Int] = []
      for c in chunks {
        end += c.tokens.count
        rows.append(end - 1)
      }
      let states = recorder.states[layer] ?? []
      guard states.count >= end * d else { return nil }
      for k in stride(from: 0, to: rows.count, by: 2) {
        for i in 0..<d { sum[i] += Double(states[rows[k] * d + i] - states[rows[k + 1] * d + i]) }
        prompted.append(Array(states[(rows[k] * d)..<((rows[k] + 1) * d)]))
        count += 1
      }
    }
    guard count > 0 else { return nil }
    let mean = sum.map { Float($0 / Double(count)) }
    guard mean.allSatisfy(\.isFinite) else { return nil }
    var file = try unit.steeringFile(.diffmean, method: name)
    switch variant {
    case .additive:
      file.vectors = [
        VectorEntry(layer: layer, positions: .prompt(prefix: 0, suffix: 1), alpha: 1, vector: mean),
        VectorEntry(layer: layer, positions: .response, alpha: 1, vector: mean),
      ]
    case .projection:
      let norm = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
      guard norm > 0 else { return nil }
      let direction = mean.map { $0 / norm }
      let target = prompted.map { zip($0, direction).reduce(0) { $0 + $1.0 * $1.1 } }.reduce(0, +) / Float(prompted.count)
      file.projections = [
        ProjectionEntry(layer: layer, positions: .prompt(prefix: 0, suffix: 1), direction: direction, target: target),
        ProjectionEntry(layer: layer, positions: .response, direction: direction, target: target),
      ]
      file.training["mean_projection"] = .number(Double(target))
    }
    file.training["positions"] = .string("last prompt token and generated tokens")
    return file
  }
}

