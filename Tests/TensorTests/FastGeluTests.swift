import Foundation
import Tensor
import XCTest

/// The int8 path's GELU (`Kernels.fastGeluGLU`, tanh from a polynomial exp) against the formula
/// in double: |y − y_exact| ≤ (½|x|·3e-7 + 1e-7·|gelu(x)|)·|u| over x in [−12, 12] (both tails,
/// where tanh saturates, and the cancellation-prone middle), and any width (vector body and tail).
final class FastGeluTests: XCTestCase {
  private func exact(_ x: Double) -> Double {
    0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
  }

  func testFastGeluMatchesTheFormulaWithin3e7() {
    for width in [1, 7, 8, 37, 2048] {
      var gateUp = [Float](repeating: 0, count: 2 * width)
      for i in 0..<width {
        gateUp[i] = Float(-12 + 24 * Double(i) / Double(max(1, width - 1)))
        gateUp[width + i] = Float(0.5 + Double(i % 5))
      }
      var y = [Float](repeating: .nan, count: width)
      gateUp.withUnsafeBufferPointer { g in
        y.withUnsafeMutableBufferPointer { Kernels.fastGeluGLU(gateUp: g.baseAddress!, rows: 1, width: width, output: $0.baseAddress!) }
      }
      for i in 0..<width {
        let x = Double(gateUp[i]), u = Double(gateUp[width + i])
        let want = exact(x) * u
        let bound = (0.5 * abs(x) * 3e-7 + 1e-7 * abs(exact(x))) * abs(u) + 1e-30
        XCTAssertLessThanOrEqual(abs(Double(y[i]) - want), bound, "width \(width) x \(x)")
      }
    }
  }
}
