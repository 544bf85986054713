import Foundation
import LM
import Tensor
import TestSupport
import XCTest

/// The K-quant decode kernel on the super-blocks of llama.cpp-quantized files (Q4_K, Q5_K, Q6_K
/// tensors of Tests/Fixtures/quants*.tar.gz) against a naive product with gguf-py-exact
/// dequantized weights.
final class SuperBlockMatrixTests: XCTestCase {
  private static let root: Result<String, Error> = Result { try Fixtures.quantFiles() }

  /// The files stay open for the whole test case: the matrices point into their mappings.
  private var files: [GGUFFile] = []

  /// Every K-quant matrix of the fixtures with its dequantized weights.
  private func matrices() throws -> [(name: String, matrix: SuperBlockMatrix, weights: [Float])] {
    var found: [(String, SuperBlockMatrix, [Float])] = []
    let formats: [GGMLType: SuperBlockMatrix.Format] = [.q4_K: .q4_K, .q5_K: .q5_K, .q6_K: .q6_K]
    for file in ["Q4_K_M", "Q5_K_M", "Q6_K"] {
      let gguf = try GGUFFile(path: try Self.root.get() + "/\(file).gguf")
      files.append(gguf)
      for (name, info) in gguf.tensors.sorted(by: { $0.key < $1.key }) {
        guard let format = formats[info.type], info.dimensions.count == 2 else { continue }
        let matrix = SuperBlockMatrix(
          format: format, rows: info.dimensions[1], cols: info.dimensions[0], blocks: gguf.tensorData(info))
        found.append(("\(file) \(name)", matrix, gguf.dequantize(info)))
      }
    }
    XCTAssertEqual(Set(found.map { "\($0.1.format)" }), ["q4_K", "q5_K", "q6_K"])
    return found
  }

  private func product(_ q: SuperBlockMatrix, _ x: [Float], m: Int, first: Int = 0) -> [Float] {
    var y = [Float](repeating: 0, count: m * q.rows)
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { q.multiply(m: m, a: xp.baseAddress! + first * q.cols, c: $0.baseAddress!) }
    }
    return y
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
    for (format, bytes, scaleOffsets) in [(SuperBlockMatrix.Format.q4_K, 144, [0, 2]), (.q5_K, 176, [0, 2]), (.q6_K, 210, [208])] {
      var data = (0..<(rows * cols / 256 * bytes)).map { _ in UInt8.random(in: 0...255, using: &g) }
      for b in 0..<(rows * cols / 256) {
        for offset in scaleOffsets {
          // fp16 in [2⁻¹⁰, 2⁻⁶): exponent 5 to 8, random mantissa.
          let half = UInt16.random(in: 5...8, using: &g) << 10 | UInt16.random(in: 0..<1024, using: &g)
          data[b * bytes + offset] = UInt8(half & 0xFF)
          data[b * bytes + offset + 1] = UInt8(half >> 8)
        }
      }
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
    let m = 3
    let x = (0..<(m * q.cols)).map { Float(($0 * 7) % 11) / 11 - 0.5 }
    let alone = product(q, x, m: m)
    let width = q.rows + 5
    var c = [Float](repeating: 2, count: m * width)
    x.withUnsafeBufferPointer { xp in
      c.withUnsafeMutableBufferPointer { q.multiply(m: m, a: xp.baseAddress!, c: $0.baseAddress! + 3, ldc: width, beta: 0.5) }
    }
    for i in 0..<m {
      for j in 0..<width {
        let inside = j >= 3 && j < 3 + q.rows
        XCTAssertEqual(c[i * width + j], inside ? 1 + alone[i * q.rows + j - 3] : 2, accuracy: inside ? 1e-6 : 0, "(\(i), \(j))")
      }
    }
  }
}
