import Tensor
import XCTest

final class KernelsTests: XCTestCase {
  func testGemmMatchesNaiveProductWithTransposedB() {
    let a: [Float] = [1, 2, 3, 4, 5, 6]  // 2×3
    let b: [Float] = [1, 0, -1, 2, 1, 0, 0, 3, 1, -2, 1, 1]  // 4×3 (transposed operand)
    var c = [Float](repeating: 0, count: 8)
    BLAS.gemm(m: 2, n: 4, k: 3, a: a, b: b, transposeB: true, c: &c)
    var expected = [Float](repeating: 0, count: 8)
    for i in 0..<2 { for j in 0..<4 { for k in 0..<3 { expected[i * 4 + j] += a[i * 3 + k] * b[j * 3 + k] } } }
    XCTAssertEqual(c, expected)
  }

  func testRMSNormHasUnitRootMeanSquare() {
    let x: [Float] = [3, -4, 12, 0]
    var y = [Float](repeating: 0, count: 4)
    var inv: Float = 0
    Kernels.rmsNorm(x, weight: [1, 1, 1, 1], epsilon: 0, rows: 1, width: 4, output: &y, inverseRMS: &inv)
    let rms = (y.reduce(0) { $0 + $1 * $1 } / 4).squareRoot()
    XCTAssertEqual(rms, 1, accuracy: 1e-6)
    XCTAssertEqual(inv, 1 / ((9 + 16 + 144) / 4 as Float).squareRoot(), accuracy: 1e-7)
  }

  func testSoftmaxSumsToOneAndReturnsLogSumExp() {
    var x: [Float] = [1, 2, 3, -1000]
    let lse = Kernels.softmax(&x, count: 4)
    XCTAssertEqual(x.reduce(0, +), 1, accuracy: 1e-6)
    XCTAssertEqual(lse, log(exp(1) + exp(2) + exp(3)), accuracy: 1e-5)
    XCTAssertEqual(x[3], 0)
  }

  func testLogSumExpMatchesDoublePrecisionOnAVocabularyRow() {
    // 49 157 values: the SIMD body, both unrolled halves and a scalar tail all run.
    let x = (0..<49_157).map { Float(sin(Double($0) * 0.37) * 12 + 30) }
    let top = Double(x.max()!)
    let expected = top + log(x.reduce(0.0) { $0 + exp(Double($1) - top) })
    let lse = x.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, count: $0.count) }
    XCTAssertEqual(Double(lse), expected, accuracy: 1e-5 * abs(expected))
  }

  func testLogSumExpEdgeCases() {
    let huge: [Float] = [1000, 1000, -.infinity]
    XCTAssertEqual(huge.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, count: 3) }, 1000 + log(2), accuracy: 1e-3)
    let none: [Float] = [-.infinity, -.infinity]
    XCTAssertEqual(none.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, count: 2) }, -.infinity)
    let one: [Float] = [-3]
    XCTAssertEqual(one.withUnsafeBufferPointer { Kernels.logSumExp($0.baseAddress!, count: 1) }, -3, accuracy: 1e-6)
  }

  func testRotaryEmbeddingPreservesNormAndInverts() {
    let rope = RotaryEmbedding(headDimension: 8, base: 10_000)
    rope.reserve(positions: 100)
    let original: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
    var x = original
    rope.apply(&x, heads: 1, position: 37)
    XCTAssertEqual(x.reduce(0) { $0 + $1 * $1 }, original.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-3)
    // Pair 0 rotates by exactly the position (θ⁰ = 1 radian per position).
    XCTAssertEqual(x[0], Float(cos(37.0) * 1 - sin(37.0) * 2), accuracy: 1e-5)
    rope.apply(&x, heads: 1, position: 37, inverse: true)
    for (a, b) in zip(x, original) { XCTAssertEqual(a, b, accuracy: 1e-5) }
  }

  func testSwiGLU() {
    let gateUp: [Float] = [0, 2, 3, -1]  // gate [0, 2], up [3, -1]
    var y = [Float](repeating: 0, count: 2)
    Kernels.swiGLU(gateUp: gateUp, rows: 1, width: 2, output: &y)
    XCTAssertEqual(y[0], 0)
    XCTAssertEqual(y[1], -2 / (1 + exp(-2)), accuracy: 1e-6)
  }
}

final class SmallBatchGemmTests: XCTestCase {
  func testSmallBatchProductMatchesNaiveProduct() {
    var g = UInt64(7)
    func next() -> Float {
      g = g &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int64(bitPattern: g >> 11) % 2000) / 1000 - 1
    }
    for (m, n, k) in [(2, 5, 3), (3, 257, 19), (16, 960, 576), (31, 1000, 13), (32, 4, 8)] {
      let a = (0..<(m * k)).map { _ in next() }
      let b = (0..<(n * k)).map { _ in next() }
      var c = (0..<(m * n)).map { _ in next() }
      let before = c
      BLAS.gemm(m: m, n: n, k: k, a: a, b: b, transposeB: true, c: &c, beta: 0.5)
      for i in 0..<m {
        for j in 0..<n {
          var s: Float = 0
          for t in 0..<k { s += a[i * k + t] * b[j * k + t] }
          XCTAssertEqual(
            c[i * n + j], 0.5 * before[i * n + j] + s, accuracy: 1e-3 * Float(k).squareRoot(), "m \(m) n \(n) k \(k) at \(i),\(j)")
        }
      }
    }
  }
}

final class ExpKernelTests: XCTestCase {
  func testSoftmaxExpMatchesLibmWithin1e6Relative() {
    var worst: Float = 0
    var x: Float = -80
    while x < 80 {
      var values = (0..<11).map { x + Float($0) * 0.0137 }
      let expected = values.map { Foundation.exp($0 - 1.5) }
      let sum = psrExpShifted(&values, shift: 1.5)
      for (a, b) in zip(values, expected) { worst = max(worst, abs(a - b) / b) }
      XCTAssertEqual(sum, expected.reduce(0, +), accuracy: 1e-5 * expected.reduce(0, +))
      x += 0.731
    }
    XCTAssertLessThan(worst, 1e-6, "worst relative error \(worst)")
    var extremes: [Float] = [-1000, -200, 200, 0, 0, 0, 0, 0, 0]
    _ = psrExpShifted(&extremes, shift: 0)
    XCTAssertEqual(extremes[0], 0)
    XCTAssertEqual(extremes[1], 0)
    XCTAssertTrue(extremes[2].isFinite)
  }

  func testSwiGLUMatchesDefinition() {
    let width = 21
    let g = (0..<width).map { Float($0) * 0.7 - 7 }
    let u = (0..<width).map { Float($0 % 5) - 2 }
    var y = [Float](repeating: 0, count: width)
    Kernels.swiGLU(gateUp: g + u, rows: 1, width: width, output: &y)
    for i in 0..<width {
      XCTAssertEqual(y[i], g[i] / (1 + Foundation.exp(-g[i])) * u[i], accuracy: 1e-5 * max(1, abs(y[i])))
    }
  }

  private func psrExpShifted(_ x: inout [Float], shift: Float) -> Float {
    x.withUnsafeMutableBufferPointer { Kernels.expShifted($0.baseAddress!, count: $0.count, shift: shift) }
  }
}

final class DecodeAttentionTests: XCTestCase {
  func testAttendOneMatchesNaiveSoftmaxAttentionForSharedKeyValueHeads() throws {
    try XCTSkipUnless(Kernels.hasSIMD, "needs AVX2 and FMA")
    let heads = 3
    let hd = 64
    let stride = 2 * hd + 8
    for total in [1, 7, 8, 19] {
      let q = (0..<(heads * hd)).map { Float(sin(Double($0) * 0.37)) }
      let keys = (0..<(total * stride)).map { Float(cos(Double($0) * 0.11)) }
      let values = (0..<(total * stride)).map { Float(sin(Double($0) * 0.05 + 1)) }
      var p = [Float](repeating: 0, count: heads * total)
      var out = [Float](repeating: 0, count: heads * hd)
      Kernels.attendOne(
        heads: heads, headDimension: hd, query: q, keys: keys, values: values, stride: stride, count: total,
        scale: 0.125, probabilities: &p, output: &out)
      for h in 0..<heads {
        let s = (0..<total).map { j in (0..<hd).reduce(0.0) { $0 + Double(q[h * hd + $1]) * Double(keys[j * stride + $1]) } * 0.125 }
        let e = s.map { exp($0 - s.max()!) }
        let z = e.reduce(0, +)
        for j in 0..<total { XCTAssertEqual(p[h * total + j], Float(e[j] / z), accuracy: 1e-6) }
        for d in 0..<hd {
          let o = (0..<total).reduce(0.0) { $0 + e[$1] / z * Double(values[$1 * stride + d]) }
          XCTAssertEqual(out[h * hd + d], Float(o), accuracy: 1e-5)
        }
      }
    }
  }
}
