import Tensor
import XCTest

/// `BLAS.gemm` on every path it takes (the one-row product, the small-batch kernel, the 512-bit
/// panels and outer products where the CPU has AVX-512, OpenBLAS otherwise) against a naive
/// double-precision product, with transposed operands, leading dimensions wider than the rows,
/// and alpha and beta.
final class BLASTests: XCTestCase {
  /// Shapes that cut the kernels' blocks (12 × 32 tiles, panels of 32 weight rows, k in steps of
  /// 256, rows in blocks of 120) at an edge, and the one-row and small-batch sizes.
  private let shapes = [(1, 40, 33), (5, 70, 20), (33, 5, 7), (40, 70, 300), (130, 97, 513), (241, 64, 64), (50, 33, 1)]

  func testEveryTranspositionMatchesTheNaiveProduct() {
    var g = TestGenerator(state: 5)
    for (m, n, k) in shapes {
      for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
        for (alpha, beta) in [(Float(1), Float(0)), (0.5, 0.25)] {
          check(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta, using: &g)
        }
      }
    }
  }

  /// bf16 products (`ComputePrecision.bf16`): where the product runs on the 512-bit kernels, the
  /// naive product of the operands rounded to bf16 (to nearest even), within the same fp32
  /// summation bound (a product of two bf16 values is exact in fp32); and somewhere outside
  /// that bound of the unrounded product, so that a product ignoring `bf16` fails. One-row
  /// products stay fp32.
  func testBF16ProductsRoundBothOperandsAndSumInFP32() throws {
    try XCTSkipUnless(ComputePrecision.bf16IsSupported, "needs AVX-512 with AVX512_BF16")
    var g = TestGenerator(state: 11)
    for (m, n, k) in shapes {
      for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
        check(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: 0.5, beta: 0.25, bf16: true, using: &g)
      }
    }
  }

  /// x rounded to bf16 as the kernels round it: to nearest, ties to even (finite inputs).
  private func bf16(_ x: Float) -> Float {
    let bits = x.bitPattern
    return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
  }

  /// With beta 0, C is written, never read: NaN there must not reach the result.
  func testBetaZeroIgnoresWhatCHeld() {
    var g = TestGenerator(state: 9)
    for (m, n, k) in shapes {
      for transposeB in [false, true] {
        let a = (0..<(m * k)).map { _ in g.next() }
        let b = (0..<(n * k)).map { _ in g.next() }
        var c = [Float](repeating: .nan, count: m * n)
        BLAS.gemm(m: m, n: n, k: k, a: a, b: b, transposeB: transposeB, c: &c)
        XCTAssertTrue(c.allSatisfy(\.isFinite), "m \(m) n \(n) k \(k) transposeB \(transposeB)")
      }
    }
  }

  private func check(
    m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float, bf16: Bool = false,
    using g: inout TestGenerator
  ) {
    // Only one-row products (a matrix-vector product) stay fp32 under bf16: the test's leading
    // dimensions keep every other shape off the small-batch kernel.
    let rounds = bf16 && !(m == 1 && !transposeA)
    var missedUnrounded = false
    // Leading dimensions 3 wider than the stored rows; C's margins must stay as they were.
    let (aRows, aCols) = transposeA ? (k, m) : (m, k)
    let (bRows, bCols) = transposeB ? (n, k) : (k, n)
    let (lda, ldb, ldc) = (aCols + 3, bCols + 3, n + 3)
    let a = (0..<(aRows * lda)).map { _ in g.next() }
    let b = (0..<(bRows * ldb)).map { _ in g.next() }
    var c = (0..<(m * ldc)).map { _ in g.next() }
    let before = c
    a.withUnsafeBufferPointer { ap in
      b.withUnsafeBufferPointer { bp in
        c.withUnsafeMutableBufferPointer { cp in
          BLAS.gemm(
            m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, transposeB: transposeB,
            c: cp.baseAddress!, ldc: ldc, alpha: alpha, beta: beta, transposeA: transposeA, bf16: bf16)
        }
      }
    }
    let label =
      "m \(m) n \(n) k \(k) A\(transposeA ? "ᵀ" : "") B\(transposeB ? "ᵀ" : "") alpha \(alpha) beta \(beta)\(bf16 ? " bf16" : "")"
    defer { if rounds { XCTAssertTrue(missedUnrounded, "\(label): equals the unrounded product; bf16 did not run") } }
    for i in 0..<m {
      for j in 0..<ldc {
        guard j < n else {
          XCTAssertEqual(c[i * ldc + j], before[i * ldc + j], "margin written, \(label)")
          continue
        }
        var exact = 0.0
        var unrounded = 0.0
        var magnitude = 0.0
        for t in 0..<k {
          let x = transposeA ? a[t * lda + i] : a[i * lda + t]
          let y = transposeB ? b[j * ldb + t] : b[t * ldb + j]
          let product = rounds ? Double(self.bf16(x)) * Double(self.bf16(y)) : Double(x) * Double(y)
          exact += product
          unrounded += Double(x) * Double(y)
          magnitude += abs(product)
        }
        let expected = Double(alpha) * exact + Double(beta) * Double(before[i * ldc + j])
        // An fp32 sum of k products, in any order, is within (k + 1)·2⁻²⁴·Σ|x·y| of the exact sum;
        // alpha and beta add a rounding each.
        let tolerance = Double(k + 3) * 0x1p-24 * magnitude + 1e-6
        let fp32Expected = Double(alpha) * unrounded + Double(beta) * Double(before[i * ldc + j])
        if abs(Double(c[i * ldc + j]) - fp32Expected) > tolerance { missedUnrounded = true }
        XCTAssertEqual(Double(c[i * ldc + j]), expected, accuracy: tolerance, "\(label) at \(i),\(j)")
        if abs(Double(c[i * ldc + j]) - expected) > tolerance { return }
      }
    }
  }
}
