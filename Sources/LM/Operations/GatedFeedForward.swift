import Tensor

/// What the feed-forward half of a block keeps for its backward.
enum FeedForwardSaved {
  /// The gate and up pre-activations [g | u] of every row (n × 2·ff).
  case dense(gateUp: Matrix)
  /// The routing and each chosen expert's rows.
  case mixture(MixtureTrace)
}

extension DecoderModel {
  /// The gated hidden layer h = act(g) ⊙ u, [g | u] = W_gu · n, of every row of n; the block
  /// applies y = W_down · h as its residual update (accumulated into the residual stream when
  /// there is no post-norm). Returns h, and [g | u] when `keep` (the activation's backward
  /// needs both halves).
  func gatedHidden(gateUp weights: Linear, normed: Matrix, keep: Bool) -> (Matrix, FeedForwardSaved?) {
    let c = configuration
    let n = normed.rows
    let ff = c.feedForwardDimension
    var gateUp = Matrix(rows: n, cols: 2 * ff)
    weights.apply(normed, into: &gateUp)
    var activated = Matrix(rows: n, cols: ff)
    let fast = computePrecision == .int8
    gateUp.withPointers(&activated) { g, a in
      Parallel.rows(n) { rows in
        c.activation.forward(
          gateUp: g + rows.lowerBound * 2 * ff, rows: rows.count, width: ff, output: a + rows.lowerBound * ff, fast: fast)
      }
    }
    return (activated, keep ? .dense(gateUp: gateUp) : nil)
  }

  /// dL/dn from dL/dy, the reverse of `gatedHidden` and the down projection, y = W_down · h: dL/d(act ⊙ u) = W_downᵀ · dy, through
  /// the activation to dL/d[g | u], then dL/dn = W_guᵀ · dL/d[g | u].
  func gatedFeedForwardBackward(gateUp weights: Linear, down: Linear, saved gateUp: Matrix, gradient dy: Matrix) -> Matrix {
    let n = dy.rows
    var gradActivated = Matrix(rows: n, cols: configuration.feedForwardDimension)
    down.applyTransposed(dy, into: &gradActivated)
    let gradGateUp = configuration.activation.backward(gateUp: gateUp, gradient: gradActivated)
    var gradNormed = Matrix(rows: n, cols: configuration.modelDimension)
    weights.applyTransposed(gradGateUp, into: &gradNormed)
    return gradNormed
  }
}
