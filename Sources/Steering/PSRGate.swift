import LM
import Tensor

/// Prompt Steering Replacement at one or more layers:
/// h ← h + α·λ(h)·z with λ(h) = ReLU(w·h + b), on response tokens only.
///
/// Backward, with g = ∂L/∂h_out and a = w·h + b: ∂L/∂z += α·λ·g, and where a > 0,
/// ∂L/∂w += α·(z·g)·h, ∂L/∂b += α·(z·g), ∂L/∂h_in = g + α·(z·g)·w. Where a ≤ 0 the gate is
/// exactly zero and passes g unchanged.
public final class PSRGate: Intervention {
  public var gates: [GateEntry]
  public var alpha: Float
  public let layers: Set<Int>
  /// Per gate: gradients of weight, bias, direction; reset with `zeroGradients()`.
  public private(set) var gradientWeight: [[Float]]
  public private(set) var gradientBias: [Float]
  public private(set) var gradientDirection: [[Float]]
  /// Tokens seen and tokens whose gate was zero, since the last reset.
  public private(set) var tokensSeen = 0
  public private(set) var tokensGatedOff = 0

  public init(gates: [GateEntry], alpha: Float = 1) {
    self.gates = gates
    self.alpha = alpha
    layers = Set(gates.map(\.layer))
    gradientWeight = gates.map { [Float](repeating: 0, count: $0.weight.count) }
    gradientBias = gates.map { _ in 0 }
    gradientDirection = gradientWeight
  }

  /// λ(h) for one row.
  public static func coefficient(_ gate: GateEntry, _ h: UnsafePointer<Float>) -> Float {
    max(0, Kernels.dot(gate.weight, h, count: gate.weight.count) + gate.bias)
  }

  public func edit(layer: Int, hidden: HiddenStates) {
    for gate in gates where gate.layer == layer {
      for r in 0..<hidden.rows where !hidden.slots[r].role.isPrompt {
        let lambda = Self.coefficient(gate, hidden.row(r))
        tokensSeen += 1
        if lambda == 0 {
          tokensGatedOff += 1
          continue
        }
        Kernels.axpy(alpha * lambda, gate.direction, hidden.row(r), count: hidden.width)
      }
    }
  }

  public func backward(layer: Int, input: HiddenStates, gradient: HiddenStates) {
    for (gi, gate) in gates.enumerated() where gate.layer == layer {
      for r in 0..<gradient.rows where !gradient.slots[r].role.isPrompt {
        let h = input.row(r)
        let g = gradient.row(r)
        let a = Kernels.dot(gate.weight, h, count: gate.weight.count) + gate.bias
        guard a > 0 else { continue }
        Kernels.axpy(alpha * a, g, &gradientDirection[gi], count: gradient.width)
        let zg = alpha * Kernels.dot(gate.direction, g, count: gradient.width)
        Kernels.axpy(zg, h, &gradientWeight[gi], count: gradient.width)
        gradientBias[gi] += zg
        Kernels.axpy(zg, gate.weight, g, count: gradient.width)
      }
    }
  }

  /// Adds gradients computed outside the model's backward pass (a regulariser's), per gate.
  public func accumulate(weight: [[Float]], bias: [Float]) {
    for i in gates.indices where i < weight.count && i < bias.count {
      for k in gradientWeight[i].indices where k < weight[i].count { gradientWeight[i][k] += weight[i][k] }
      gradientBias[i] += bias[i]
    }
  }

  public func zeroGradients() {
    for i in gates.indices {
      gradientWeight[i] = [Float](repeating: 0, count: gradientWeight[i].count)
      gradientDirection[i] = gradientWeight[i]
      gradientBias[i] = 0
    }
    tokensSeen = 0
    tokensGatedOff = 0
  }
}
