import CKernels
import Foundation

/// Elementwise and row-wise kernels of a Llama-style transformer, on raw rows.
///
/// Every function works on `rows` consecutive rows of width `width` (row stride
/// `stride`, default `width`) and never allocates.
public enum Kernels {
  /// y = x / sqrt(mean(x²) + eps) ⊙ weight, row by row. Returns nothing; writes `output`
  /// (which may alias `input`). The reciprocal RMS of each row is written to `inverseRMS`
  /// when given, for the backward pass.
  @inlinable
  public static func rmsNorm(
    _ input: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
    rows: Int, width: Int, output: UnsafeMutablePointer<Float>,
    inverseRMS: UnsafeMutablePointer<Float>? = nil
  ) {
    for r in 0..<rows {
      let x = input + r * width
      let y = output + r * width
      var sum: Float = 0
      for i in 0..<width { sum += x[i] * x[i] }
      let inv = 1 / (sum / Float(width) + epsilon).squareRoot()
      inverseRMS?[r] = inv
      for i in 0..<width { y[i] = x[i] * inv * weight[i] }
    }
  }

  /// SwiGLU: out[i] = silu(gate[i]) · up[i] with silu(x) = x / (1 + e^(−x)).
  /// `gateUp` holds rows of [gate (width) | up (width)]; `output` rows of width `width`.
  @inlinable
  public static func swiGLU(
    gateUp: UnsafePointer<Float>, rows: Int, width: Int, output: UnsafeMutablePointer<Float>
  ) {
    for r in 0..<rows {
      let g = gateUp + r * 2 * width
      let u = g + width
      let y = output + r * width
      psr_swiglu(g, u, y, Int32(width))
    }
  }

  /// y = gelu_tanh(g) ⊙ u over rows of [gate (width) | up (width)], tanh on a vector polynomial
  /// (psr_gelu_glu: absolute error of 1 + tanh below 3e-7).
  public static func fastGeluGLU(
    gateUp: UnsafePointer<Float>, rows: Int, width: Int, output: UnsafeMutablePointer<Float>
  ) {
    for r in 0..<rows {
      let g = gateUp + r * 2 * width
      psr_gelu_glu(g, g + width, output + r * width, Int32(width))
    }
  }

  /// In-place softmax of `count` values; returns the log-sum-exp.
  @inlinable
  @discardableResult
  public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) -> Float {
    var maxValue = -Float.infinity
    for i in 0..<count where x[i] > maxValue { maxValue = x[i] }
    if maxValue == -.infinity { return -.infinity }
    let sum = expShifted(x, count: count, shift: maxValue)
    let inv = 1 / sum
    for i in 0..<count { x[i] *= inv }
    return maxValue + logf(sum)
  }

  /// x[i] ← exp(x[i] − shift), returning the sum (SIMD when the CPU has AVX2).
  @inlinable
  public static func expShifted(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
    psr_exp_shifted(x, Int32(count), shift)
  }

  /// Log-sum-exp of `count` values, without changing them: max + log Σ exp(xᵢ − max), so that
  /// nothing overflows; −∞ when every value is −∞ or `count` is 0 (SIMD when the CPU has AVX2).
  @inlinable
  public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
    psr_log_sum_exp(x, Int32(count))
  }

  /// y += a · x over `count` values.
  @inlinable
  public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += a * x[i] }
  }

  /// The dot product of `count` values.
  @inlinable
  public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
    var s0: Float = 0
    var s1: Float = 0
    var s2: Float = 0
    var s3: Float = 0
    var i = 0
    while i + 4 <= count {
      s0 += x[i] * y[i]
      s1 += x[i + 1] * y[i + 1]
      s2 += x[i + 2] * y[i + 2]
      s3 += x[i + 3] * y[i + 3]
      i += 4
    }
    while i < count {
      s0 += x[i] * y[i]
      i += 1
    }
    return (s0 + s1) + (s2 + s3)
  }
}

extension Kernels {
  /// Backward of `rmsNorm` for one row: given x, weight w, r = 1/sqrt(mean(x²) + eps) and
  /// dL/dy, adds dL/dx = r·g − r³·x·(g·x)/D with g = dL/dy ⊙ w into `gradientInput`.
  @inlinable
  public static func rmsNormBackward(
    _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, inverseRMS r: Float, gradientOutput dy: UnsafePointer<Float>,
    width: Int, accumulateInto dx: UnsafeMutablePointer<Float>
  ) {
    var gx: Float = 0
    for i in 0..<width { gx += dy[i] * weight[i] * x[i] }
    let c = r * r * r * gx / Float(width)
    for i in 0..<width { dx[i] += r * dy[i] * weight[i] - c * x[i] }
  }

  /// The reciprocal RMS of a row, as `rmsNorm` computes it.
  @inlinable
  public static func inverseRMS(_ x: UnsafePointer<Float>, width: Int, epsilon: Float) -> Float {
    var sum: Float = 0
    for i in 0..<width { sum += x[i] * x[i] }
    return 1 / (sum / Float(width) + epsilon).squareRoot()
  }

  /// Whether the C kernels run their x86 SIMD forms (AVX2 and FMA) on this CPU. `attendOne` runs
  /// everywhere (portable C elsewhere); the model calls it only where this is true, because the
  /// Swift loop's speed against the portable kernel has not been measured on another CPU.
  public static var hasSIMD: Bool { BLAS.hasAVX2 }

  /// Attention of one query position for `heads` query heads that share a key/value head:
  /// `probabilities[h·count + j] = softmax_j(cap(scale · q_h · k_j))` (cap(s) = c·tanh(s/c) with
  /// `softcap` c, else s) and
  /// `output[h·headDimension …] = Σ_j probabilities[h·count + j] · v_j`, where `query` and
  /// `output` hold the heads contiguously and key/value row j starts at `j · stride`. Any CPU.
  @inlinable
  public static func attendOne(
    heads: Int, headDimension: Int, query: UnsafePointer<Float>, keys: UnsafePointer<Float>,
    values: UnsafePointer<Float>, stride: Int, count: Int, scale: Float, softcap: Float? = nil,
    probabilities: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
  ) {
    psr_attend_one(
      Int32(heads), Int32(headDimension), query, keys, values, Int32(stride), Int32(count), scale, softcap ?? 0,
      probabilities, output)
  }
}
