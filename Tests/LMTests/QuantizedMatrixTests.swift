import LM
import Tensor
import XCTest

/// The quantized products against Dequantize followed by a naive fp32 product: two separate
/// implementations of the block formats.
final class QuantizedMatrixTests: XCTestCase {
  /// Random GGML blocks: fp16 scales (and minimum) in a realistic range, random payloads.
  private func randomBlocks(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) -> [UInt8] {
    var g = SeededGenerator(seed: seed)
    var bytes: [UInt8] = []
    for _ in 0..<(rows * cols / 32) {
      let scales = type == .q4_1 ? 2 : 1
      for s in 0..<scales {
        let v = Float16(Float.random(in: (s == 0 ? 0.001 : -0.1)...(s == 0 ? 0.02 : 0.1), using: &g))
        bytes += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init)
      }
      bytes += (0..<(type == .q4_1 ? 16 : 32)).map { _ in UInt8.random(in: 0...255, using: &g) }
    }
    return bytes
  }

  private func check(_ type: GGMLType, format: QuantizedMatrix.Format, rows: [Int], m: Int, beta: Float) {
    let cols = 96
    let parts = rows.enumerated().map { randomBlocks(type, rows: $1, cols: cols, seed: UInt64(10 * $0 + m)) }
    let dense: [Float] = parts.flatMap { part in
      var out = [Float](repeating: 0, count: part.count / type.blockBytes * 32)
      part.withUnsafeBytes { Dequantize.decode(type, from: $0.baseAddress!, count: out.count, into: &out) }
      return out
    }
    let n = rows.reduce(0, +)
    var g = SeededGenerator(seed: 99)
    let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
    let y0 = (0..<(m * n)).map { _ in Float.random(in: -1...1, using: &g) }
    var y = y0
    let pointers = parts.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0.count, alignment: 4) }
    defer { pointers.forEach { $0.deallocate() } }
    for (p, part) in zip(pointers, parts) { p.copyMemory(from: part.withUnsafeBytes { $0 }) }
    let q = QuantizedMatrix(
      format: format, cols: cols, parts: zip(pointers, rows).map { (UnsafeRawBufferPointer($0), $1) })
    XCTAssertEqual(q.rows, n)
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { yp in q.multiply(m: m, a: xp.baseAddress!, c: yp.baseAddress!, beta: beta) }
    }
    var worst: Float = 0
    for i in 0..<m {
      for j in 0..<n {
        var s: Double = Double(beta * y0[i * n + j])
        for t in 0..<cols { s += Double(x[i * cols + t]) * Double(dense[j * cols + t]) }
        worst = max(worst, abs(y[i * n + j] - Float(s)))
      }
    }
    XCTAssertLessThan(worst, 1e-5, "\(type) m=\(m) beta=\(beta)")
  }

  func testQ4_1ProductsEqualTheDequantizedProductForEveryRowGrouping() throws {
    try XCTSkipUnless(QuantizedMatrix.isSupported, "needs AVX2 and FMA")
    // m covers the 8/4/2/1 row groups and their remainders; an odd row count covers the
    // last weight row without a partner; three parts are stacked like a fused Q/K/V.
    for m in [1, 2, 3, 5, 8, 13, 16, 33] {
      check(.q4_1, format: .q4_1, rows: [64, 32, 33], m: m, beta: m % 2 == 0 ? 0 : 1)
    }
  }

  func testQ8_0ProductsEqualTheDequantizedProduct() throws {
    try XCTSkipUnless(QuantizedMatrix.isSupported, "needs AVX2 and FMA")
    for m in [1, 4, 7, 16] { check(.q8_0, format: .q8_0, rows: [301], m: m, beta: m == 7 ? 0.5 : 0) }
  }
}

/// The repacked layouts against a naive product of the weights they stand for, with odd row counts
/// so that the one-row, paired-row and grouped kernels all run: q8_1 (repacked Q5_1: unsigned
/// bytes, a scale and a minimum per 32).
final class RepackedQuantizedMatrixTests: XCTestCase {
  /// `weight(scales, quants, index)` is the weight that element `index` of the matrix stands for.
  private func check(
    _ format: QuantizedMatrix.Format, seed: UInt64, cases: [(rows: Int, m: Int)], quant: (inout SeededGenerator) -> UInt8,
    weight: ([Float], [UInt8], Int) -> Float
  ) {
    var g = SeededGenerator(seed: seed)
    for (rows, m) in cases {
      let cols = 64
      let scales = (0..<(rows * cols / 16)).map { _ in Float.random(in: -0.05...0.05, using: &g) }
      let quants = (0..<(rows * cols)).map { _ in quant(&g) }
      let q = QuantizedMatrix(format: format, rows: rows, cols: cols, scales: scales, quants: quants)
      let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
      var y = [Float](repeating: 0, count: m * rows)
      x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { q.multiply(m: m, a: xp.baseAddress!, c: $0.baseAddress!) } }
      for i in 0..<m {
        for j in 0..<rows {
          var expected: Float = 0
          for t in 0..<cols { expected += x[i * cols + t] * weight(scales, quants, j * cols + t) }
          XCTAssertEqual(y[i * rows + j], expected, accuracy: 1e-4, "\(format) rows \(rows) m \(m) (\(i), \(j))")
        }
      }
    }
  }

  func testQ8_1EqualsItsNaiveProduct() {
    check(.q8_1, seed: 8, cases: [(1, 1), (3, 2), (9, 5), (17, 12)], quant: { UInt8.random(in: 0...31, using: &$0) }) {
      scales, quants, e in scales[2 * (e / 32)] * Float(quants[e]) + scales[2 * (e / 32) + 1]
    }
  }
}
