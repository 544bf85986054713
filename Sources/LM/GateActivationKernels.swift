import Foundation
import Tensor

/// The gated feed-forward nonlinearity, forward and backward side by side:
/// y = act(g) ⊙ u over rows of [gate (width) | up (width)].
extension GateActivation {
  /// y[i] = act(g[i]) · u[i] for `rows` rows of `gateUp` (2·width wide) into `output` (width wide).
  /// `fast` (the int8 compute path) runs GELU's tanh on a vector polynomial (psr_gelu_glu) instead
  /// of libm's, which the fp32 reference keeps.
  func forward(gateUp: UnsafePointer<Float>, rows: Int, width: Int, output: UnsafeMutablePointer<Float>, fast: Bool = false) {
    switch self {
    case .silu:
      Kernels.swiGLU(gateUp: gateUp, rows: rows, width: width, output: output)
    case .geluTanh where fast:
      Kernels.fastGeluGLU(gateUp: gateUp, rows: rows, width: width, output: output)
    case .geluTanh:
      for r in 0..<rows {
        let g = gateUp + r * 2 * width
        let u = g + width
        let y = output + r * width
        for i in 0..<width { y[i] = Self.gelu(g[i]).value * u[i] }
      }
    }
  }

  /// From dL/dy (`gradient`, width wide) and the forward's `gateUp`, dL/d[g | u] into `output`
  /// (2·width wide): du = dy · act(g), dg = dy · u · act′(g).
  func backward(
    gateUp: UnsafePointer<Float>, gradient: UnsafePointer<Float>, rows: Int, width: Int, output: UnsafeMutablePointer<Float>
  ) {
    for r in 0..<rows {
      let g = gateUp + r * 2 * width
      let u = g + width
      let dg = output + r * 2 * width
      let du = dg + width
      let dy = gradient + r * width
      for i in 0..<width {
        let (a, da) = self == .silu ? Self.silu(g[i]) : Self.gelu(g[i])
        du[i] = dy[i] * a
        dg[i] = dy[i] * u[i] * da
      }
    }
  }

  /// `backward` over whole matrices: dL/d[g | u] (rows × 2·width) from the forward's `gateUp`
  /// and dL/dy (rows × width).
  func backward(gateUp: Matrix, gradient: Matrix) -> Matrix {
    let width = gradient.cols
    var out = Matrix(rows: gradient.rows, cols: 2 * width)
    gateUp.storage.withUnsafeBufferPointer { gu in
      gradient.storage.withUnsafeBufferPointer { g in
        out.storage.withUnsafeMutableBufferPointer { o in
          backward(gateUp: gu.baseAddress!, gradient: g.baseAddress!, rows: gradient.rows, width: width, output: o.baseAddress!)
        }
      }
    }
    return out
  }

  /// silu(x) = x·σ(x) and its derivative σ(x)(1 + x(1 − σ(x))).
  @inline(__always)
  static func silu(_ x: Float) -> (value: Float, derivative: Float) {
    let s = 1 / (1 + expf(-x))
    return (x * s, s * (1 + x * (1 - s)))
  }

  /// gelu(x) = ½x(1 + tanh t), t = √(2/π)(x + 0.044715x³), and its derivative
  /// ½(1 + tanh t) + ½x(1 − tanh² t)·√(2/π)(1 + 3·0.044715x²).
  @inline(__always)
  static func gelu(_ x: Float) -> (value: Float, derivative: Float) {
    let k: Float = 0.7978845608028654
    let c: Float = 0.044715
    let t = tanhf(k * (x + c * x * x * x))
    let value = 0.5 * x * (1 + t)
    let derivative = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x)
    return (value, derivative)
  }
}
