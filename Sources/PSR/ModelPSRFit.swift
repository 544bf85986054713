import Foundation
import LM
import Steering
import Store
import Tensor

/// What a model-based PSR fit minimises.
public enum PSRObjective: String, Sendable, CaseIterable {
  /// Σ_l ‖h_l^steered − (base_l + delta_l)‖² at response tokens over the gate layers, through the
  /// model (A-PSR).
  case mse
  /// −log p(y′ | x) with PSR active.
  case ll
  /// The PSR paper's S-PSR objective: the same MSE summed over the lowest gate layer *and every
  /// later layer*, so that a one-layer intervention also reproduces how the prompt's effect
  /// propagates, plus 0.1 · max(0, 1 − Σₜ λₜ) per example and gate against dead ReLUs.
  case mseThrough = "mse-through"

  /// The layers whose states the loss compares with the prompted ones.
  public func lossLayers(gates: [Int], layerCount: Int) -> [Int] {
    switch self {
    case .mse: gates.sorted()
    case .ll: []
    case .mseThrough: Array((gates.min() ?? layerCount)..<layerCount)
    }
  }
}

/// A teacher-forced example of a capture: unprompted prompt, response, and per-layer
/// prompted targets (base + delta).
public struct CapturedExampleTargets: Sendable {
  public var sequence: TeacherForcedSequence
  /// layer → `response.count × d` prompted states.
  public var targets: [Int: [Float]]

  public init(sequence: TeacherForcedSequence, targets: [Int: [Float]]) {
    self.sequence = sequence
    self.targets = targets
  }
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
  /// The weight of max(0, 1 − Σₜ λₜ) per example and gate (`mseThrough`; the paper's 0.1).
  public var deadGateWeight: Float = 0.1

  public init(model: DecoderModel, layers: [Int], objective: PSRObjective) {
    self.model = model
    self.layers = layers.sorted()
    self.objective = objective
  }

  /// The layers whose prompted states the examples must carry: the loss layers of the objective.
  public var targetLayers: [Int] { objective.lossLayers(gates: layers, layerCount: model.configuration.layerCount) }

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
  ///
  /// MSE objectives: per loss layer l, Σ_t ‖h_l,t − target_l,t‖² / (T · mean_t ‖target_l,t‖²) over the
  /// batch's T response tokens, summed over the loss layers; `mseThrough` adds, per example and gate,
  /// `deadGateWeight` · max(0, 1 − Σ_t λ_t) / (examples), λ_t = ReLU(w·h_t + b) on the gate layer's
  /// states before the edit. Its gradient is exact (zero through an inactive ReLU), as autograd's.
  public func batchLoss(_ batch: [CapturedExampleTargets], gate: PSRGate, backward: Bool) throws -> Float {
    try batchLossByLayer(batch, gate: gate, backward: backward).total
  }

  /// The batch's loss with its part from each loss layer (key: layer) and the regulariser (key: -1).
  public func batchLossByLayer(_ batch: [CapturedExampleTargets], gate: PSRGate, backward: Bool) throws -> (
    total: Float, parts: [Int: Float]
  ) {
    let sequences = batch.map(\.sequence)
    if objective == .ll {
      let loss = try model.responseLoss(sequences, intervention: gate, backward: backward)
      return (loss, [:])
    }
    let d = model.configuration.modelDimension
    let chunks = sequences.map {
      ForwardChunk(
        tokens: $0.prompt + $0.response, cache: model.makeCache(capacity: $0.prompt.count + $0.response.count),
        promptLength: $0.prompt.count)
    }
    let lossLayers = targetLayers
    let trace = ForwardTrace(lowestLayer: layers.first ?? 0)
    // The gate layers' states before the edit, for the regulariser.
    let recorder = LayerRecorder(layers: objective == .mseThrough && deadGateWeight > 0 ? Set(layers) : [])
    try model.forward(chunks, logits: .none, intervention: InterventionChain([recorder, gate]), trace: trace)
    let tokens = Float(sequences.reduce(0) { $0 + $1.response.count })
    var loss: Float = 0
    var parts: [Int: Float] = [:]
    var gradients: [Int: Matrix] = [:]
    for l in lossLayers {
      guard batch.allSatisfy({ $0.targets[l] != nil }) else {
        throw TrainingError.invalidOptions("the capture holds no layer \(l), which the \(objective.rawValue) objective compares; capture it")
      }
      guard batch.allSatisfy({ $0.targets[l]!.count == $0.sequence.response.count * d }) else {
        throw TrainingError.invalidOptions(
          "the targets at layer \(l) are not \(d) values per response token; they were captured from another model")
      }
      let states = trace.output(ofLayer: l)
      var g = Matrix(rows: states.rows, cols: d)
      // Normalise each layer by its targets' mean squared norm, so deep layers do not dominate.
      var norm: Float = 0
      for ex in batch { norm += ex.targets[l]!.reduce(0) { $0 + $1 * $1 } }
      norm = max(norm / tokens, 1e-12)
      var part: Float = 0
      var offset = 0
      for (ex, s) in zip(batch, sequences) {
        let target = ex.targets[l]!
        for t in 0..<s.response.count {
          let r = offset + s.prompt.count + t
          for i in 0..<d {
            let diff = states[r, i] - target[t * d + i]
            part += diff * diff / (tokens * norm)
            g[r, i] = 2 * diff / (tokens * norm)
          }
        }
        offset += s.prompt.count + s.response.count
      }
      parts[l] = part
      loss += part
      gradients[l] = g
    }
    if !recorder.layers.isEmpty {
      var regulariser: Float = 0
      var gradW = gate.gates.map { [Float](repeating: 0, count: $0.weight.count) }
      var gradB = [Float](repeating: 0, count: gate.gates.count)
      let scale = deadGateWeight / Float(batch.count)
      for (gi, g) in gate.gates.enumerated() {
        guard let states = recorder.states[g.layer] else { continue }
        var offset = 0
        for s in sequences {
          var sum: Float = 0
          var active: [Int] = []
          for t in 0..<s.response.count {
            let r = offset + s.prompt.count + t
            let a = states.withUnsafeBufferPointer { Kernels.dot(g.weight, $0.baseAddress! + r * d, count: d) } + g.bias
            if a > 0 {
              sum += a
              active.append(r)
            }
          }
          if sum < 1 {
            regulariser += scale * (1 - sum)
            for r in active {
              states.withUnsafeBufferPointer { Kernels.axpy(-scale, $0.baseAddress! + r * d, &gradW[gi], count: d) }
              gradB[gi] -= scale
            }
          }
          offset += s.prompt.count + s.response.count
        }
      }
      parts[-1] = regulariser
      loss += regulariser
      if backward { gate.accumulate(weight: gradW, bias: gradB) }
    }
    if backward { model.backward(trace: trace, outputGradients: gradients, intervention: gate) }
    return (loss, parts)
  }

  /// Each loss layer's mean relative MSE over `examples` (and the regulariser under -1), for the
  /// fit's report.
  public func lossByLayer(_ examples: [CapturedExampleTargets], gate: PSRGate) throws -> [Int: Float] {
    var total: [Int: Float] = [:]
    for start in stride(from: 0, to: examples.count, by: batchExamples) {
      let batch = Array(examples[start..<min(examples.count, start + batchExamples)])
      for (l, v) in try batchLossByLayer(batch, gate: gate, backward: false).parts { total[l, default: 0] += v * Float(batch.count) }
    }
    return total.mapValues { $0 / Float(max(1, examples.count)) }
  }
}
