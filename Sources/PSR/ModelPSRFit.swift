import Foundation
import LM
import Steering
import Store
import Tensor

/// What a model-based PSR fit minimises.
public enum PSRObjective: String, Sendable, CaseIterable {
  /// Σ_l ‖h_l^steered − (base_l + delta_l)‖² at response tokens, through the model (A-PSR).
  case mse
  /// −log p(y′ | x) with PSR active.
  case ll
}

/// A teacher-forced example of a capture: unprompted prompt, response, and per-layer
/// prompted targets (base + delta).
public struct CapturedExampleTargets: Sendable {
  public var sequence: TeacherForcedSequence
  /// layer → `response.count × d` prompted states.
  public var targets: [Int: [Float]]
}

/// Fits PSR gates at several layers through the frozen model (A-PSR, or the LL objective),
/// with Adam on all w, b, z at once.
///
/// Initialisation: for ascending layers l₁ < l₂ < …, the gate at l_k starts constant with
/// z = the direction and b = the length of meanΔ_{l_k} − meanΔ_{l_{k−1}}, the part of the
/// prompt's effect that appears between the two layers; w = 0.
public struct ModelPSRFit {
  public let model: DecoderModel
  public let layers: [Int]
  public let objective: PSRObjective
  public var epochs = 4
  public var learningRate: Float = 1e-3
  public var batchExamples = 4
  public var seed: UInt64 = 0

  public init(model: DecoderModel, layers: [Int], objective: PSRObjective) {
    self.model = model
    self.layers = layers.sorted()
    self.objective = objective
  }

  /// Loads the examples of a capture, with targets at `layers`.
  public static func examples(_ reader: ActivationReader, model: DecoderModel, layers: [Int], limit: Int? = nil) throws
    -> [CapturedExampleTargets]
  {
    let sequences = try reader.teacherForcedSequences(model: model, examples: 0..<min(reader.exampleCount, limit ?? .max))
    var out: [CapturedExampleTargets] = []
    for (e, sequence) in sequences.enumerated() {
      let rows = reader.tokenOffsets[e]..<reader.tokenOffsets[e + 1]
      var targets: [Int: [Float]] = [:]
      for l in layers {
        let b = try reader.base(layer: l, rows: rows)
        let dl = try reader.delta(layer: l, rows: rows)
        targets[l] = zip(b, dl).map { $0 + $1 }
      }
      out.append(CapturedExampleTargets(sequence: sequence, targets: targets))
    }
    return out
  }

  public func initialGates(_ reader: ActivationReader) throws -> [GateEntry] {
    let d = reader.header.modelDimension
    var previous = [Float](repeating: 0, count: d)
    var gates: [GateEntry] = []
    for l in layers {
      let delta = try reader.delta(layer: l)
      var mean = [Float](repeating: 0, count: d)
      let rows = delta.count / d
      for r in 0..<rows { for i in 0..<d { mean[i] += delta[r * d + i] / Float(max(1, rows)) } }
      let increment = zip(mean, previous).map { $0 - $1 }
      previous = mean
      let length = increment.reduce(0) { $0 + $1 * $1 }.squareRoot()
      gates.append(
        GateEntry(
          layer: l, weight: [Float](repeating: 0, count: d), bias: length,
          direction: length > 0 ? increment.map { $0 / length } : increment))
    }
    return gates
  }

  /// Mean loss over `examples` (no gradient).
  public func loss(_ examples: [CapturedExampleTargets], gate: PSRGate) throws -> Float {
    var total: Float = 0
    for start in stride(from: 0, to: examples.count, by: batchExamples) {
      let batch = Array(examples[start..<min(examples.count, start + batchExamples)])
      total += try batchLoss(batch, gate: gate, backward: false) * Float(batch.count)
    }
    return total / Float(max(1, examples.count))
  }

  /// Trains from `gates`; reports (epoch, step, loss) after each step. Returns the gates.
  public func fit(
    _ examples: [CapturedExampleTargets], from gates: [GateEntry], progress: (Int, Int, Float) -> Void = { _, _, _ in }
  ) throws -> [GateEntry] {
    let gate = PSRGate(gates: gates)
    var optimizers = gates.map { _ in
      (w: Adam(count: model.configuration.modelDimension), z: Adam(count: model.configuration.modelDimension), b: Adam(count: 1))
    }
    var order = Array(examples.indices)
    var generator = SeededGenerator(seed: seed)
    var step = 0
    for epoch in 1...max(1, epochs) {
      order.shuffle(using: &generator)
      for start in stride(from: 0, to: order.count, by: batchExamples) {
        let batch = order[start..<min(order.count, start + batchExamples)].map { examples[$0] }
        gate.zeroGradients()
        let loss = try batchLoss(batch, gate: gate, backward: true)
        guard loss.isFinite, gate.gradientBias.allSatisfy(\.isFinite) else {
          throw TrainingError.invalidOptions("PSR fit produced NaN or infinity at epoch \(epoch), step \(step); lower the learning rate")
        }
        for i in gate.gates.indices {
          optimizers[i].w.update(&gate.gates[i].weight, gradient: gate.gradientWeight[i], learningRate: learningRate)
          optimizers[i].z.update(&gate.gates[i].direction, gradient: gate.gradientDirection[i], learningRate: learningRate)
          var b = [gate.gates[i].bias]
          optimizers[i].b.update(&b, gradient: [gate.gradientBias[i]], learningRate: learningRate * 10)
          gate.gates[i].bias = b[0]
        }
        step += 1
        progress(epoch, step, loss)
      }
    }
    return gate.gates
  }

  /// The batch's loss; with `backward`, accumulates gradients in `gate`.
  public func batchLoss(_ batch: [CapturedExampleTargets], gate: PSRGate, backward: Bool) throws -> Float {
    let sequences = batch.map(\.sequence)
    if objective == .ll { return try model.responseLoss(sequences, intervention: gate, backward: backward) }
    let d = model.configuration.modelDimension
    let chunks = sequences.map {
      ForwardChunk(
        tokens: $0.prompt + $0.response, cache: model.makeCache(capacity: $0.prompt.count + $0.response.count),
        promptLength: $0.prompt.count)
    }
    let trace = ForwardTrace(lowestLayer: layers.first ?? 0)
    try model.forward(chunks, logits: .none, intervention: gate, trace: trace)
    let tokens = Float(sequences.reduce(0) { $0 + $1.response.count })
    var loss: Float = 0
    var gradients: [Int: Matrix] = [:]
    for l in layers {
      let states = trace.output(ofLayer: l)
      var g = Matrix(rows: states.rows, cols: d)
      // Normalise each layer by its targets' mean squared norm, so deep layers do not dominate.
      var norm: Float = 0
      for ex in batch { norm += ex.targets[l]!.reduce(0) { $0 + $1 * $1 } }
      norm = max(norm / tokens, 1e-12)
      var offset = 0
      for (ex, s) in zip(batch, sequences) {
        let target = ex.targets[l]!
        for t in 0..<s.response.count {
          let r = offset + s.prompt.count + t
          for i in 0..<d {
            let diff = states[r, i] - target[t * d + i]
            loss += diff * diff / (tokens * norm)
            g[r, i] = 2 * diff / (tokens * norm)
          }
        }
        offset += s.prompt.count + s.response.count
      }
      gradients[l] = g
    }
    if backward { model.backward(trace: trace, outputGradients: gradients, intervention: gate) }
    return loss
  }
}
