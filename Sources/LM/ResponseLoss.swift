import Foundation
import Tensor

/// A teacher-forced sequence: the prompt, then the response whose tokens are scored.
public struct TeacherForcedSequence: Sendable, Equatable {
  public var prompt: [Int]
  public var response: [Int]

  public init(prompt: [Int], response: [Int]) {
    self.prompt = prompt
    self.response = response
  }
}

extension DecoderModel {
  /// Mean negative log-likelihood of the response tokens given everything before them,
  /// over all response tokens of the batch:  L = −(1/T) Σₛ Σₜ log p(yₛₜ | xₛ, yₛ<ₜ).
  ///
  /// With `backward`, the gradient (times `gradientScale`, to weight micro-batches) is propagated from the logits down to the lowest layer
  /// the intervention sees, calling its `backward` at each of its layers so that it
  /// accumulates the gradient of its parameters. Weights are frozen: no weight gradient is
  /// formed, and nothing below the lowest hooked layer is computed.
  public func responseLoss(
    _ sequences: [TeacherForcedSequence], intervention: (any Intervention)? = nil, backward: Bool = false,
    gradientScale: Float = 1, prefix: FrozenPrefix? = nil
  ) throws -> Float {
    guard !sequences.isEmpty else { throw ModelError.emptyInput("no sequences") }
    for (i, s) in sequences.enumerated() where s.prompt.isEmpty || s.response.isEmpty {
      throw ModelError.emptyInput("sequence \(i) needs a prompt and a response")
    }
    let chunks = sequences.map {
      ForwardChunk(
        tokens: $0.prompt + $0.response, cache: makeCache(capacity: $0.prompt.count + $0.response.count), promptLength: $0.prompt.count)
    }
    let trace = backward ? ForwardTrace(lowestLayer: intervention?.layers.min() ?? configuration.layerCount) : nil
    let recorder = backward ? nil : FinalStateRecorder(layer: configuration.layerCount - 1)
    let hook: (any Intervention)? =
      if let recorder { InterventionChain([intervention, recorder].compactMap { $0 }) } else { intervention }
    try forward(chunks, logits: .none, intervention: hook, trace: trace, prefix: prefix)
    let final = trace?.finalHidden ?? recorder!.states

    // Row r predicts the token at r + 1: targets are the response tokens.
    var rows: [Int] = []
    var targets: [Int] = []
    var offset = 0
    for s in sequences {
      for (t, token) in s.response.enumerated() {
        rows.append(offset + s.prompt.count - 1 + t)
        targets.append(token)
      }
      offset += s.prompt.count + s.response.count
    }
    var logits = self.logits(of: final, rows: rows)
    let count = Float(rows.count)
    var loss: Float = 0
    let cap = configuration.finalSoftcap
    var capDerivative = [Float](repeating: 1, count: cap == nil ? 0 : logits.cols)
    logits.storage.withUnsafeMutableBufferPointer { p in
      for (i, target) in targets.enumerated() {
        let row = p.baseAddress! + i * logits.cols
        let logit = row[target]
        // Logits capped as c·tanh(z/c) pass their gradient on times 1 − (logit/c)².
        if let cap { for j in 0..<logits.cols { capDerivative[j] = 1 - (row[j] / cap) * (row[j] / cap) } }
        loss += Kernels.softmax(row, count: logits.cols) - logit
        // Now `row` holds probabilities: dL/dlogits = (p − onehot) / T.
        row[target] -= 1
        for j in 0..<logits.cols { row[j] *= gradientScale / count }
        if cap != nil { for j in 0..<logits.cols { row[j] *= capDerivative[j] } }
      }
    }
    loss /= count
    if let trace, let intervention {
      backwardPass(trace: trace, gradientLogits: logits, rows: rows, intervention: intervention)
    }
    return loss
  }

  /// The token-weighted mean response NLL of many sequences, run `batch` sequences at a time
  /// (to bound memory); with `backward`, each micro-batch's gradient is weighted by its share of
  /// the tokens, so the intervention accumulates the gradient of the overall mean.
  public func meanResponseLoss(
    _ sequences: [TeacherForcedSequence], intervention: (any Intervention)? = nil, batch: Int = 4, backward: Bool = false,
    prefix: FrozenPrefix? = nil
  ) throws -> Float {
    let total = Float(sequences.reduce(0) { $0 + $1.response.count })
    guard total > 0 else { throw ModelError.emptyInput("no response tokens") }
    var loss: Float = 0
    for start in stride(from: 0, to: sequences.count, by: max(1, batch)) {
      let micro = Array(sequences[start..<min(sequences.count, start + max(1, batch))])
      let share = Float(micro.reduce(0) { $0 + $1.response.count }) / total
      loss += share * (try responseLoss(micro, intervention: intervention, backward: backward, gradientScale: share, prefix: prefix))
    }
    return loss
  }

  /// Back-propagates gradients given at block outputs: `outputGradients[l]` is dL/d(edited
  /// output of block l), one row per packed token of the traced pass. Calls the
  /// intervention's `backward` at its layers, down to its lowest layer.
  public func backward(trace: ForwardTrace, outputGradients: [Int: Matrix], intervention: any Intervention) {
    let c = configuration
    guard let lowest = intervention.layers.min(), let top = outputGradients.keys.max(), top >= lowest else { return }
    let d = c.modelDimension
    let n = trace.final.rows
    var grad = Matrix(rows: n, cols: d)
    guard let batch = trace.batch else { preconditionFailure("backward before a traced forward") }
    let slots = batch.slots
    for l in stride(from: top, through: lowest, by: -1) {
      if let g = outputGradients[l] { Kernels.axpy(1, g.storage, &grad.storage, count: n * d) }
      if intervention.layers.contains(l), var input = trace.editInputs[l] {
        input.storage.withUnsafeMutableBufferPointer { ip in
          grad.storage.withUnsafeMutableBufferPointer { gp in
            intervention.backward(
              layer: l, input: HiddenStates(pointer: ip.baseAddress!, rows: n, width: d, slots: slots),
              gradient: HiddenStates(pointer: gp.baseAddress!, rows: n, width: d, slots: slots))
          }
        }
      }
      if l == lowest { break }
      blockBackward(l, saved: trace.saved(layer: l), batch: batch, gradient: &grad)
    }
  }

  /// From dL/dlogits at `rows` to dL/d(final block output), then down the blocks.
  private func backwardPass(trace: ForwardTrace, gradientLogits: Matrix, rows: [Int], intervention: any Intervention) {
    let c = configuration
    let d = c.modelDimension
    // dL/d(normed final) = dlogits · E, then through the final RMSNorm.
    var gradNormed = Matrix(rows: rows.count, cols: d)
    weights.head.applyTransposed(gradientLogits, into: &gradNormed)
    var grad = Matrix(rows: trace.final.rows, cols: d)
    trace.final.withPointers(gradNormed, &grad) { x, gy, gx in
      for (i, r) in rows.enumerated() {
        let xr = x + r * d
        Kernels.rmsNormBackward(
          xr, weight: weights.finalNorm, inverseRMS: Kernels.inverseRMS(xr, width: d, epsilon: c.rmsNormEpsilon),
          gradientOutput: gy + i * d, width: d, accumulateInto: gx + r * d)
      }
    }
    backward(trace: trace, outputGradients: [c.layerCount - 1: grad], intervention: intervention)
  }
}

/// Keeps a copy of the last block's output (for the loss without a full trace).
final class FinalStateRecorder: Intervention {
  let layers: Set<Int>
  var states = Matrix(rows: 0, cols: 0)

  init(layer: Int) { layers = [layer] }

  func edit(layer: Int, hidden: HiddenStates) {
    states = Matrix(
      rows: hidden.rows, cols: hidden.width, storage: Array(UnsafeBufferPointer(start: hidden.pointer, count: hidden.rows * hidden.width)))
  }
}
