import Tensor

/// What block l's forward keeps for its backward.
struct BlockSaved {
  /// The block input x_in, for the attention norm's backward.
  var input: Matrix
  var attention: AttentionSaved
  /// W_o · attention before the post-attention norm (families with sandwich norms).
  var attentionProjection: Matrix?
  /// The state between the halves, x_mid, for the feed-forward norm's backward.
  var middle: Matrix
  var feedForward: FeedForwardSaved
  /// The feed-forward output before its post-norm (families with sandwich norms).
  var feedForwardProjection: Matrix?
}

extension DecoderModel {
  /// One transformer block on the packed states `x`, in place:
  /// x_mid = x_in + post₁(W_o · attention(rope(qknorm(W_qkv · norm₁(x_in) + b))))
  /// x_out = x_mid + post₂(W_down · (act(W_gate · n) ⊙ W_up · n)), n = norm₂(x_mid),
  /// where the post-norms, biases and q/k norms exist only in the families that have them, and
  /// a mixture of experts replaces the feed-forward in the families with one. With `arena`,
  /// returns what the backward needs, the attention probabilities written into the arena.
  /// `gradientPass` (every block of a pass that training differentiates, traced or below the
  /// trace) runs q/k/v and down at ``ComputePrecision/gradientPass`` under int8.
  func block(
    _ l: Int, _ x: inout Matrix, batch: PackedBatch, chunks: [ForwardChunk], arena: ScratchArena?, gradientPass: Bool
  ) -> BlockSaved? {
    let c = configuration
    let w = weights.blocks[l]
    let keep = arena != nil
    // Held only when kept: a second reference would make the in-place updates below copy x.
    let input = keep ? x : Matrix(rows: 0, cols: 0)
    let attentionResidual = ResidualUpdate(postNorm: w.postAttentionNorm, epsilon: c.rmsNormEpsilon)
    let feedForwardResidual = ResidualUpdate(postNorm: w.postFeedForwardNorm, epsilon: c.rmsNormEpsilon)

    var normed = Matrix(rows: batch.rows, cols: c.modelDimension)
    RMSNorm.forward(x, weight: w.attentionNorm, epsilon: c.rmsNormEpsilon, into: &normed)
    var qkv = Matrix(rows: batch.rows, cols: c.queryDimension + 2 * c.keyValueDimension)
    w.qkv.apply(normed, into: &qkv, gradientPass: gradientPass)
    if let bias = w.qkvBias { Self.addRowVector(bias, to: &qkv) }
    let projected = keep && w.queryNorm != nil ? qkv : nil
    positionQueriesKeys(l, &qkv, batch: batch)
    let probabilities = arena.map {
      AttentionProbabilities(
        arena: $0, shapes: chunks.indices.map { (batch.chunkRanges[$0].count, chunks[$0].cache.count + batch.chunkRanges[$0].count) },
        headCount: c.headCount)
    }
    var attended = Matrix(rows: batch.rows, cols: c.queryDimension)
    attention(l, qkv: qkv, batch: batch, chunks: chunks, output: &attended, saved: probabilities)
    let attentionProjection = attentionResidual.forward(w.attentionOutput, attended, to: &x, keep: keep)
    let middle = keep ? x : Matrix(rows: 0, cols: 0)

    RMSNorm.forward(x, weight: w.feedForwardNorm, epsilon: c.rmsNormEpsilon, into: &normed)
    let feedForward: FeedForwardSaved?
    let feedForwardProjection: Matrix?
    switch w.feedForward {
    case .dense(let gateUp, let down):
      let (hidden, saved) = gatedHidden(gateUp: gateUp, normed: normed, keep: keep)
      feedForward = saved
      feedForwardProjection = feedForwardResidual.forward(down, hidden, to: &x, keep: keep, gradientPass: gradientPass)
    case .mixture(let experts):
      guard let moe = c.experts else { preconditionFailure("expert weights without a mixture configuration") }
      let (y, saved) = mixtureForward(experts, moe: moe, normed: normed, keep: keep, gradientPass: gradientPass)
      feedForward = saved.map { .mixture($0) }
      feedForwardProjection = feedForwardResidual.forward(y, to: &x, keep: keep)
    }
    guard let probabilities, let feedForward else { return nil }
    return BlockSaved(
      input: input, attention: AttentionSaved(projected: projected, positioned: qkv, probabilities: probabilities),
      attentionProjection: attentionProjection, middle: middle, feedForward: feedForward,
      feedForwardProjection: feedForwardProjection)
  }

  /// Maps dL/d(block output) to dL/d(block input) in place, the reverse of `block`: the residual
  /// stream passes its gradient through, and each half adds its own.
  func blockBackward(_ l: Int, saved: BlockSaved, batch: PackedBatch, gradient grad: inout Matrix) {
    let c = configuration
    let w = weights.blocks[l]
    let eps = c.rmsNormEpsilon
    // Feed-forward half.
    let gradProjected = ResidualUpdate(postNorm: w.postFeedForwardNorm, epsilon: eps).backward(grad, saved: saved.feedForwardProjection)
    var gradNormed: Matrix
    switch (w.feedForward, saved.feedForward) {
    case (.mixture(let experts), .mixture(let mixture)):
      gradNormed = mixtureBackward(experts, moe: c.experts!, trace: mixture, gradient: gradProjected)
    case (.dense(let gateUp, let down), .dense(let gateUpRows)):
      gradNormed = gatedFeedForwardBackward(gateUp: gateUp, down: down, saved: gateUpRows, gradient: gradProjected)
    default:
      preconditionFailure("the saved feed-forward does not match layer \(l)'s kind")
    }
    RMSNorm.backward(input: saved.middle, weight: w.feedForwardNorm, epsilon: eps, gradientOutput: gradNormed, accumulateInto: &grad)

    // Attention half.
    let gradAttention = ResidualUpdate(postNorm: w.postAttentionNorm, epsilon: eps).backward(grad, saved: saved.attentionProjection)
    var gradAttended = Matrix(rows: grad.rows, cols: c.queryDimension)
    w.attentionOutput.applyTransposed(gradAttention, into: &gradAttended)
    var gradQKV = attentionBackward(saved: saved.attention, batch: batch, gradAttended: gradAttended)
    positionQueriesKeysBackward(l, &gradQKV, projected: saved.attention.projected, batch: batch)
    w.qkv.applyTransposed(gradQKV, into: &gradNormed)
    RMSNorm.backward(input: saved.input, weight: w.attentionNorm, epsilon: eps, gradientOutput: gradNormed, accumulateInto: &grad)
  }

  /// Adds `bias` to every row of `m`.
  static func addRowVector(_ bias: [Float], to m: inout Matrix) {
    let w = m.cols
    m.storage.withUnsafeMutableBufferPointer { p in
      for r in 0..<m.rows { Kernels.axpy(1, bias, p.baseAddress! + r * w, count: w) }
    }
  }
}
