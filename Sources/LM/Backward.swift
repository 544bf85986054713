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
    let slots = trace.batch!.slots
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
      blockBackward(l, trace: trace, gradient: &grad)
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
    trace.final.storage.withUnsafeBufferPointer { x in
      gradNormed.storage.withUnsafeBufferPointer { gy in
        grad.storage.withUnsafeMutableBufferPointer { gx in
          for (i, r) in rows.enumerated() {
            let xr = x.baseAddress! + r * d
            Kernels.rmsNormBackward(
              xr, weight: weights.finalNorm, inverseRMS: Kernels.inverseRMS(xr, width: d, epsilon: c.rmsNormEpsilon),
              gradientOutput: gy.baseAddress! + i * d, width: d, accumulateInto: gx.baseAddress! + r * d)
          }
        }
      }
    }
    backward(trace: trace, outputGradients: [c.layerCount - 1: grad], intervention: intervention)
  }

  /// Maps dL/d(block output) to dL/d(block input) in place, the reverse of `block`.
  func blockBackward(_ l: Int, trace: ForwardTrace, gradient grad: inout Matrix) {
    let c = configuration
    let w = weights.blocks[l]
    // Feed-forward: x_out = x_mid + post(W_down · (act(g) ⊙ u)), (g, u) = W_gu · norm(x_mid), or
    // the mixture's sum over its chosen experts.
    let gradProjected = throughPostNorm(grad, input: trace.feedForwardProjections[l], weight: w.postFeedForwardNorm)
    var gradNormed: Matrix
    switch w.feedForward {
    case .mixture(let experts):
      gradNormed = mixtureBackward(experts, moe: c.experts!, trace: trace.mixtures[l]!, gradient: gradProjected)
    case .dense(let gateUp, let down):
      gradNormed = denseFeedForwardBackward(l, gateUp: gateUp, down: down, trace: trace, gradient: gradProjected)
    }
    accumulateNormBackward(trace.middles[l], weight: w.feedForwardNorm, gradNormed: gradNormed, into: &grad)
    attentionHalfBackward(l, trace: trace, gradient: &grad, gradNormed: &gradNormed)
  }

  /// dL/dn of the gated block y = W_down · (act(W_gate n) ⊙ W_up n), from dL/dy.
  private func denseFeedForwardBackward(_ l: Int, gateUp: Linear, down: Linear, trace: ForwardTrace, gradient: Matrix) -> Matrix {
    let n = gradient.rows
    let ff = configuration.feedForwardDimension
    var gradActivated = Matrix(rows: n, cols: ff)
    down.applyTransposed(gradient, into: &gradActivated)
    let gradGateUp = configuration.activation.backward(gateUp: trace.gateUps[l], gradient: gradActivated)
    var gradNormed = Matrix(rows: n, cols: configuration.modelDimension)
    gateUp.applyTransposed(gradGateUp, into: &gradNormed)
    return gradNormed
  }

  /// The attention half of `blockBackward`: dL/d(block input) += through attention, in place.
  private func attentionHalfBackward(_ l: Int, trace: ForwardTrace, gradient grad: inout Matrix, gradNormed: inout Matrix) {
    let c = configuration
    let w = weights.blocks[l]
    let n = grad.rows
    // Attention: x_mid = x_in + post(W_o · attention(rope(qknorm(W_qkv · norm(x_in) + b)))).
    let gradAttention = throughPostNorm(grad, input: trace.attentionProjections[l], weight: w.postAttentionNorm)
    var gradAttended = Matrix(rows: n, cols: c.queryDimension)
    w.attentionOutput.applyTransposed(gradAttention, into: &gradAttended)
    var gradQKV = attentionBackward(l, trace: trace, gradAttended: gradAttended)
    let qkvWidth = c.queryDimension + 2 * c.keyValueDimension
    let slots = trace.batch!.slots
    gradQKV.storage.withUnsafeMutableBufferPointer { p in
      for r in 0..<n {
        let row = p.baseAddress! + r * qkvWidth
        let rope = ropes.rope(layer: l, sequenceEnd: trace.batch!.sequenceEnds[slots[r].sequence])
        rope.apply(row, heads: c.headCount, position: slots[r].position, inverse: true)
        rope.apply(row + c.queryDimension, heads: c.keyValueHeadCount, position: slots[r].position, inverse: true)
      }
    }
    if let qn = w.queryNorm, let kn = w.keyNorm { queryKeyNormBackward(l, trace: trace, queryNorm: qn, keyNorm: kn, &gradQKV) }
    w.qkv.applyTransposed(gradQKV, into: &gradNormed)
    accumulateNormBackward(trace.blockInputs[l], weight: w.attentionNorm, gradNormed: gradNormed, into: &grad)
  }

  /// dL/d(input of a post-norm) from dL/d(its output); the gradient itself without a post-norm.
  private func throughPostNorm(_ grad: Matrix, input: Matrix, weight: [Float]?) -> Matrix {
    guard let weight else { return grad }
    var out = Matrix(rows: grad.rows, cols: grad.cols)
    accumulateNormBackward(input, weight: weight, gradNormed: grad, into: &out)
    return out
  }

  /// Replaces the query and key parts of `gradQKV` (w.r.t. the normed heads) by the gradient
  /// w.r.t. the heads before their per-head RMSNorm.
  private func queryKeyNormBackward(
    _ l: Int, trace: ForwardTrace, queryNorm: [Float], keyNorm: [Float], _ gradQKV: inout Matrix
  ) {
    let c = configuration
    let hd = c.headDimension
    let width = gradQKV.cols
    let heads = c.headCount + c.keyValueHeadCount
    var head = [Float](repeating: 0, count: hd)
    trace.projectedQKV[l].storage.withUnsafeBufferPointer { xp in
      gradQKV.storage.withUnsafeMutableBufferPointer { gp in
        for r in 0..<gradQKV.rows {
          for h in 0..<heads {
            let offset = r * width + h * hd
            let x = xp.baseAddress! + offset
            let g = gp.baseAddress! + offset
            for i in 0..<hd { head[i] = 0 }
            Kernels.rmsNormBackward(
              x, weight: h < c.headCount ? queryNorm : keyNorm,
              inverseRMS: Kernels.inverseRMS(x, width: hd, epsilon: c.rmsNormEpsilon), gradientOutput: g, width: hd,
              accumulateInto: &head)
            for i in 0..<hd { g[i] = head[i] }
          }
        }
      }
    }
  }

  private func accumulateNormBackward(_ x: Matrix, weight: [Float], gradNormed: Matrix, into grad: inout Matrix) {
    let d = x.cols
    let eps = configuration.rmsNormEpsilon
    x.storage.withUnsafeBufferPointer { xp in
      gradNormed.storage.withUnsafeBufferPointer { gy in
        grad.storage.withUnsafeMutableBufferPointer { gx in
          for r in 0..<x.rows {
            let xr = xp.baseAddress! + r * d
            Kernels.rmsNormBackward(
              xr, weight: weight, inverseRMS: Kernels.inverseRMS(xr, width: d, epsilon: eps),
              gradientOutput: gy.baseAddress! + r * d, width: d, accumulateInto: gx.baseAddress! + r * d)
          }
        }
      }
    }
  }

  /// dL/d(roped q, k, v) from dL/d(attention output), per sequence and head:
  /// dV += Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = s·dS·K, dK += s·dSᵀ·Q.
  /// Assumes each sequence was run from position 0 (no cached past), as teacher forcing is.
  private func attentionBackward(_ l: Int, trace: ForwardTrace, gradAttended: Matrix) -> Matrix {
    let c = configuration
    let hd = c.headDimension
    let kv = c.keyValueDimension
    let qkvWidth = c.queryDimension + 2 * kv
    let scale = c.attentionScale
    let batch = trace.batch!
    var gradQKV = Matrix(rows: gradAttended.rows, cols: qkvWidth)
    trace.qkv[l].storage.withUnsafeBufferPointer { qkvBuffer in
      gradAttended.storage.withUnsafeBufferPointer { dOut in
        gradQKV.storage.withUnsafeMutableBufferPointer { dqkv in
          for (ci, rows) in batch.chunkRanges.enumerated() {
            let m = rows.count
            var dP = [Float](repeating: 0, count: m * m)
            var rawScores = c.attentionSoftcap == nil ? [] : [Float](repeating: 0, count: m * m)
            for h in 0..<c.headCount {
              let kvHead = h / c.groupSize
              let p = trace.probabilities[l][ci * c.headCount + h]
              let base = rows.lowerBound * qkvWidth
              let q = qkvBuffer.baseAddress! + base + h * hd
              let k = qkvBuffer.baseAddress! + base + c.queryDimension + kvHead * hd
              let v = k + kv
              let dO = dOut.baseAddress! + rows.lowerBound * c.queryDimension + h * hd
              let dQ = dqkv.baseAddress! + base + h * hd
              let dK = dqkv.baseAddress! + base + c.queryDimension + kvHead * hd
              let dV = dK + kv
              p.withUnsafeBufferPointer { pp in
                dP.withUnsafeMutableBufferPointer { dp in
                  BLAS.gemm(
                    m: m, n: hd, k: m, a: pp.baseAddress!, b: dO, ldb: c.queryDimension, transposeB: false, c: dV,
                    ldc: qkvWidth, beta: 1, transposeA: true)
                  BLAS.gemm(
                    m: m, n: m, k: hd, a: dO, lda: c.queryDimension, b: v, ldb: qkvWidth, transposeB: true,
                    c: dp.baseAddress!)
                  for i in 0..<m {
                    let pr = pp.baseAddress! + i * m
                    let dr = dp.baseAddress! + i * m
                    let dot = Kernels.dot(pr, dr, count: i + 1)
                    for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
                    for j in (i + 1)..<m { dr[j] = 0 }
                  }
                  if let cap = c.attentionSoftcap {
                    // s = c·tanh(z/c): dz = ds · (1 − tanh²(z/c)), z recomputed from q and k.
                    rawScores.withUnsafeMutableBufferPointer { zp in
                      BLAS.gemm(
                        m: m, n: m, k: hd, a: q, lda: qkvWidth, b: k, ldb: qkvWidth, transposeB: true, c: zp.baseAddress!,
                        alpha: scale)
                      for i in 0..<(m * m) {
                        let t = tanhf(zp[i] / cap)
                        dp[i] *= 1 - t * t
                      }
                    }
                  }
                  BLAS.gemm(
                    m: m, n: hd, k: m, a: dp.baseAddress!, b: k, ldb: qkvWidth, transposeB: false, c: dQ, ldc: qkvWidth,
                    alpha: scale)
                  BLAS.gemm(
                    m: m, n: hd, k: m, a: dp.baseAddress!, b: q, ldb: qkvWidth, transposeB: false, c: dK, ldc: qkvWidth,
                    alpha: scale, beta: 1, transposeA: true)
                }
              }
            }
          }
        }
      }
    }
    return gradQKV
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
