import Foundation

/// Adam (Kingma & Ba) for one parameter block:
/// m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr · m̂ / (√v̂ + ε), with bias-corrected m̂, v̂.
public struct Adam: Sendable {
  public var beta1: Float = 0.9
  public var beta2: Float = 0.999
  public var epsilon: Float = 1e-8
  /// Decoupled weight decay (AdamW); 0 is plain Adam.
  public var weightDecay: Float = 0
  private var m: [Float]
  private var v: [Float]
  private var step = 0

  public init(count: Int, weightDecay: Float = 0) {
    m = [Float](repeating: 0, count: count)
    v = m
    self.weightDecay = weightDecay
  }

  public mutating func update(_ parameters: inout [Float], gradient: [Float], learningRate lr: Float) {
    precondition(parameters.count == m.count && gradient.count == m.count, "Adam: parameter count changed")
    step += 1
    let c1 = 1 - powf(beta1, Float(step))
    let c2 = 1 - powf(beta2, Float(step))
    for i in parameters.indices {
      let g = gradient[i]
      m[i] = beta1 * m[i] + (1 - beta1) * g
      v[i] = beta2 * v[i] + (1 - beta2) * g * g
      parameters[i] -= lr * ((m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon) + weightDecay * parameters[i])
    }
  }
}
