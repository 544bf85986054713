import Tensor

/// RMSNorm, row by row: y = w ⊙ x · r with r = 1/√(mean(x²) + ε).
///
/// The backward needs only the forward's input x; r is recomputed from it (one pass over the
/// row, cheaper than keeping it): dL/dx = r·g − r³·x·(g·x)/D, g = dL/dy ⊙ w.
enum RMSNorm {
  /// Forward: every row of `x` into `out`, rows split over the cores.
  static func forward(_ x: Matrix, weight: [Float], epsilon: Float, into out: inout Matrix) {
    let d = x.cols
    x.withPointers(&out) { xp, op in
      weight.withUnsafeBufferPointer { wb in
        let wp = wb.baseAddress!
        Parallel.rows(x.rows) { rows in
          Kernels.rmsNorm(
            xp + rows.lowerBound * d, weight: wp, epsilon: epsilon, rows: rows.count, width: d, output: op + rows.lowerBound * d)
        }
      }
    }
  }

  /// Backward: `grad` += dL/dx for every row of the forward's input `x`, from dL/dy.
  static func backward(
    input x: Matrix, weight: [Float], epsilon: Float, gradientOutput gy: Matrix, accumulateInto grad: inout Matrix
  ) {
    let d = x.cols
    x.withPointers(gy, &grad) { xp, gp, gx in
      for r in 0..<x.rows {
        let xr = xp + r * d
        Kernels.rmsNormBackward(
          xr, weight: weight, inverseRMS: Kernels.inverseRMS(xr, width: d, epsilon: epsilon), gradientOutput: gp + r * d,
          width: d, accumulateInto: gx + r * d)
      }
    }
  }
}

/// The residual update after attention or the feed-forward: x += y, or x += RMSNorm(y) in the
/// families with sandwich norms (Gemma 2 and 3), whose backward then needs y.
struct ResidualUpdate {
  /// The post-norm's weight, if the family has one here.
  let postNorm: [Float]?
  let epsilon: Float

  /// x += y or x += norm(y); returns y when the backward will need it (a post-norm and `keep`).
  func forward(_ y: Matrix, to x: inout Matrix, keep: Bool) -> Matrix? {
    guard let postNorm else {
      Kernels.axpy(1, y.storage, &x.storage, count: x.storage.count)
      return nil
    }
    var normed = Matrix(rows: y.rows, cols: x.cols)
    RMSNorm.forward(y, weight: postNorm, epsilon: epsilon, into: &normed)
    Kernels.axpy(1, normed.storage, &x.storage, count: x.storage.count)
    return keep ? y : nil
  }

  /// x += W · a, or x += norm(W · a): without a post-norm the product is accumulated into x
  /// directly. Returns W · a when the backward will need it.
  func forward(_ projection: Linear, _ a: Matrix, to x: inout Matrix, keep: Bool, gradientPass: Bool = false) -> Matrix? {
    guard postNorm != nil else {
      projection.apply(a, into: &x, beta: 1, gradientPass: gradientPass)
      return nil
    }
    var projected = Matrix(rows: a.rows, cols: x.cols)
    projection.apply(a, into: &projected, gradientPass: gradientPass)
    return forward(projected, to: &x, keep: keep)
  }

  /// dL/dy from dL/dx_out (the residual's own gradient passes through untouched): the gradient
  /// itself without a post-norm, else through the norm with the saved y.
  func backward(_ grad: Matrix, saved y: Matrix?) -> Matrix {
    guard let postNorm else { return grad }
    guard let y else { preconditionFailure("the forward kept no input for this post-norm") }
    var out = Matrix(rows: grad.rows, cols: grad.cols)
    RMSNorm.backward(input: y, weight: postNorm, epsilon: epsilon, gradientOutput: grad, accumulateInto: &out)
    return out
  }
}
