import LM
import Tensor

/// Stolfo et al.'s projection steering ("Improving Instruction-Following in Language Models through
/// Activation Steering", ICLR 2025): at one layer, on the tokens of a ``PositionSet``, each state's
/// component along the unit direction û is replaced by the target c:
///
///   h ← h − (h·û)·û + c·û  =  h + (c − h·û)·û
///
/// where c is the mean projection of the instruction-carrying states. Unlike an added vector, the
/// edit lands every token at the same projection, whatever it started from. A factor scales c
/// (factor 0 removes the direction; 1 is Stolfo et al.'s).
///
/// Backward (g = ∂L/∂h_out): ∂L/∂h_in = g − (g·û)·û, and ∂L/∂c = Σₜ g·û over the touched tokens.
public final class ProjectionShift: Intervention {
  public let layer: Int
  public let direction: [Float]
  public var target: Float
  public let positions: PositionSet
  public private(set) var gradientTarget: Float = 0

  public var layers: Set<Int> { [layer] }

  /// `direction` is normalised here (a zero direction edits nothing).
  public init(layer: Int, direction: [Float], target: Float, positions: PositionSet) {
    self.layer = layer
    let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
    self.direction = norm > 0 ? direction.map { $0 / norm } : direction.map { _ in 0 }
    self.target = target
    self.positions = positions
  }

  public func edit(layer: Int, hidden: HiddenStates) {
    precondition(hidden.width == direction.count, "direction width \(direction.count) != hidden width \(hidden.width)")
    direction.withUnsafeBufferPointer { u in
      for r in 0..<hidden.rows where positions.contains(hidden.slots[r].role) {
        let p = Kernels.dot(u.baseAddress!, hidden.row(r), count: hidden.width)
        Kernels.axpy(target - p, u.baseAddress!, hidden.row(r), count: hidden.width)
      }
    }
  }

  public func backward(layer: Int, input: HiddenStates, gradient: HiddenStates) {
    direction.withUnsafeBufferPointer { u in
      for r in 0..<gradient.rows where positions.contains(gradient.slots[r].role) {
        let gu = Kernels.dot(u.baseAddress!, gradient.row(r), count: gradient.width)
        gradientTarget += gu
        Kernels.axpy(-gu, u.baseAddress!, gradient.row(r), count: gradient.width)
      }
    }
  }
}
