import Foundation
import LM
import Tensor
import TestSupport
import XCTest

/// The K-quant decode kernel on the super-blocks of llama.cpp-quantized files (Q4_K, Q5_K, Q6_K
/// tensors of Tests/Fixtures/quants*.tar.gz) against a naive product with gguf-py-exact
/// dequantized weights.
final class SuperBlockMatrixTests: XCTestCase {
  private var fixtures: KQuantFixtureMatrices?

  private func matrices() throws -> [(name: String, matrix: SuperBlockMatrix, weights: [Float])] {
    let loaded = try KQuantFixtureMatrices(compute: .fp32)
    fixtures = loaded
    return loaded.all
  }

  private func product(_ q: SuperBlockMatrix, _ x: [Float], m: Int, first: Int = 0) -> [Float] {
    KQuantFixtureMatrices.product(q, x, m: m, first: first)
  }

  /// The vector expansion (what the panel products and the input gradients read) is gguf-py's
  /// dequantization bit for bit, for every row range, including one that starts mid-matrix.
  func testExpandedRowsAreTheDequantizedWeightsBitForBit() throws {
    var expanded = 0
    for (name, q, w) in try matrices() {
      for range in [0..<q.rows, 1..<min(q.rows, 4), (q.rows - 1)..<q.rows] {
        var out = [Float](repeating: .nan, count: range.count * q.cols)
        guard out.withUnsafeMutableBufferPointer({ q.expand(rows: range, into: $0.baseAddress!) }) else { continue }
        expanded += 1
        let want = w[(range.lowerBound * q.cols)..<(range.upperBound * q.cols)]
        XCTAssertEqual(out.map(\.bitPattern), want.map(\.bitPattern), "\(name) rows \(range)")
      }
    }
    try XCTSkipIf(expanded == 0, "needs AVX-512 (F, VL, BW)")
  }

  /// Each output within 1e-5 of Σ|x·w| of the exact (double) sum: the kernel's fp32 sum of the
  /// same products in another order can differ by no more than a few ulps of that magnitude.
  func testProductsEqualTheDequantizedProductWithin1e5() throws {
    try XCTSkipUnless(QuantizedMatrix.isSupported, "needs AVX2 and FMA")
    var g = SeededGenerator(seed: 41)
    for (name, q, w) in try matrices() {
      for m in [1, 3, 8, 13] {
        let x = (0..<(m * q.cols)).map { _ in Float.random(in: -1...1, using: &g) }
        let y = product(q, x, m: m)
        for i in 0..<m {
          for j in 0..<q.rows {
            var exact = 0.0
            var magnitude = 0.0
            for t in 0..<q.cols {
              let p = Double(x[i * q.cols + t]) * Double(w[j * q.cols + t])
              exact += p
              magnitude += abs(p)
            }
            XCTAssertLessThanOrEqual(abs(Double(y[i * q.rows + j]) - exact), 1e-5 * magnitude, "\(name) m \(m) (\(i), \(j))")
          }
        }
      }
    }
  }

  /// A row's outputs are bitwise the same alone or among any number of rows (batch invariance).
  func testEachRowIsTheSameForAnyRowCount() throws {
    try XCTSkipUnless(QuantizedMatrix.isSupported, "needs AVX2 and FMA")
    var g = SeededGenerator(seed: 43)
    for (name, q, _) in try matrices() {
      let m = 19
      let x = (0..<(m * q.cols)).map { _ in Float.random(in: -1...1, using: &g) }
      let all = product(q, x, m: m)
      for i in [0, 7, 8, 15, 18] {
        XCTAssertEqual(Array(all[(i * q.rows)..<((i + 1) * q.rows)]), product(q, x, m: 1, first: i), "\(name) row \(i)")
      }
    }
  }

  /// From 8 rows the products run as panels (blocks expanded once for all rows, k in steps of
  /// 256, rows in blocks of 120, weight rows in blocks of 32): every output must still be bitwise
  /// the one-row kernel's. Random super-blocks with sane scales; 70 weight rows and k = 768 cut
  /// every block at an edge.
  func testPanelProductsGiveTheOneRowKernelsBitsAcrossEveryBlockEdge() throws {
    try XCTSkipUnless(QuantizedMatrix.isSupported, "needs AVX2 and FMA")
    var g = SeededGenerator(seed: 47)
    let (rows, cols) = (70, 768)
    for format in [SuperBlockMatrix.Format.q4_K, .q5_K, .q6_K] {
      let data = KQuantFixtureMatrices.randomBlocks(format, rows: rows, cols: cols, using: &g)
      data.withUnsafeBytes { raw in
        let q = SuperBlockMatrix(format: format, rows: rows, cols: cols, blocks: raw)
        let m = 250
        let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
        let all = product(q, x, m: m)
        for i in [0, 5, 6, 119, 120, 121, 239, 240, 249] {
          XCTAssertEqual(Array(all[(i * rows)..<((i + 1) * rows)]), product(q, x, m: 1, first: i), "\(format) row \(i)")
        }
      }
    }
  }

  /// With `ldc` the product fills its own columns of a wider C and leaves the others alone;
  /// beta scales what was there.
  func testProductIntoColumnsOfAWiderMatrix() throws {
    try XCTSkipUnless(QuantizedMatrix.isSupported, "needs AVX2 and FMA")
    let (_, q, _) = try XCTUnwrap(try matrices().first)
    KQuantFixtureMatrices.assertFillsColumnsOfAWiderMatrix(q)
  }
}
