import LM
import Tensor

/// h ← h + α·v at one layer, on the tokens of a ``PositionSet``.
///
/// The gradients of a loss L with respect to the parameters are
/// ∂L/∂v = α · Σₜ gₜ and ∂L/∂α = v · Σₜ gₜ, summed over the touched tokens t, where gₜ is
/// ∂L/∂h at the layer's output; the edit passes gradients through unchanged.
public final class AdditiveVector: Intervention {
  public let layer: Int
  public var alpha: Float
  public var vector: [Float]
  public var positions: PositionSet
  /// Accumulated by `backward`; reset with `zeroGradients()`.
  public private(set) var gradientAlpha: Float = 0
  public private(set) var gradientVector: [Float]

  public var layers: Set<Int> { [layer] }

  public init(layer: Int, alpha: Float, vector: [Float], positions: PositionSet = .all) {
    self.layer = layer
    self.alpha = alpha
    self.vector = vector
    self.positions = positions
    gradientVector = [Float](repeating: 0, count: vector.count)
  }

  public func edit(layer: Int, hidden: HiddenStates) {
    precondition(hidden.width == vector.count, "vector width \(vector.count) != hidden width \(hidden.width)")
    vector.withUnsafeBufferPointer { v in
      for r in 0..<hidden.rows where positions.contains(hidden.slots[r].role) {
        Kernels.axpy(alpha, v.baseAddress!, hidden.row(r), count: hidden.width)
      }
    }
  }

  public func backward(layer: Int, input: HiddenStates, gradient: HiddenStates) {
    var sum = [Float](repeating: 0, count: vector.count)
    for r in 0..<gradient.rows where positions.contains(gradient.slots[r].role) {
      Kernels.axpy(1, gradient.row(r), &sum, count: gradient.width)
    }
    gradientAlpha += Kernels.dot(vector, sum, count: vector.count)
    Kernels.axpy(alpha, sum, &gradientVector, count: vector.count)
  }

  public func zeroGradients() {
    gradientAlpha = 0
    for i in gradientVector.indices { gradientVector[i] = 0 }
  }
}
