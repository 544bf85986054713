import Foundation
import LM
import Tensor
import TestSupport
import XCTest

/// The 8-bit-activation K-quant products (`ComputePrecision.int8`) on the super-blocks of
/// llama.cpp-quantized files (Tests/Fixtures/quants*.tar.gz): the activations' quantization is
/// llama.cpp's q8_K, value for value; the products equal the exact sum over the quantized
/// activations; they stay within the quantization's own bound of the fp32 product; and a row's
/// outputs do not depend on the other rows.
final class Q8ActivationProductTests: XCTestCase {
  private var fixtures: KQuantFixtureMatrices?

  private func matrices() throws -> [(name: String, matrix: SuperBlockMatrix, weights: [Float])] {
    let loaded = try KQuantFixtureMatrices(compute: .int8)
    fixtures = loaded
    return loaded.all
  }

  private func product(_ q: SuperBlockMatrix, _ x: [Float], m: Int, first: Int = 0) -> [Float] {
    KQuantFixtureMatrices.product(q, x, m: m, first: first)
  }

  /// llama.cpp's quantize_row_q8_K_ref, written from its definition: the first value of largest
  /// magnitude gives the scale, values round half to even; and the sums the weights' offsets
  /// multiply (`span` values each: 32 for Q4_K and Q5_K, then zeros; 16 for Q6_K).
  private func reference(_ x: ArraySlice<Float>, span: Int) -> (scale: Float, values: [Int8], sums: [Int16]) {
    var largest: Float = 0
    var magnitude: Float = 0
    for v in x where abs(v) > magnitude {
      magnitude = abs(v)
      largest = v
    }
    guard magnitude > 0 else { return (0, Array(repeating: 0, count: 256), Array(repeating: 0, count: 16)) }
    let inverse = -127 / largest
    let values = x.map { Int8(min(127, Int((inverse * $0).rounded(.toNearestOrEven)))) }
    let sums = (0..<16).map { g in
      g * span < 256 ? Int16(values[(span * g)..<(span * g + span)].reduce(0) { $0 + Int($1) }) : 0
    }
    return (1 / inverse, values, sums)
  }

  /// Below 16 rows (a block a row) and from 16 (groups of 16 rows, 35 rows making a padded third).
  func testQuantizationIsLlamaCppsQ8K() {
    var g = SeededGenerator(seed: 5)
    let cols = 512
    let count = 35
    var x = (0..<(count * cols)).map { _ in Float.random(in: -3...3, using: &g) }
    for t in 0..<256 { x[cols + t] = 0 }  // a zero block
    x[2 * cols + 17] = -40  // one value of large magnitude, negative
    x[2 * cols + 300] = 40  // equal magnitude later: the first one sets the sign
    for format in [SuperBlockMatrix.Format.q4_K, .q5_K, .q6_K] {
      for m in [3, count] {
        let rows = x.withUnsafeBufferPointer { Q8KRows(format: format, rows: m, cols: cols, a: $0.baseAddress!) }
        for r in 0..<m {
          for b in 0..<2 {
            let got = rows.block(row: r, index: b)
            let want = reference(
              x[(r * cols + 256 * b)..<(r * cols + 256 * b + 256)], span: format == .q6_K ? 16 : 32)
            XCTAssertEqual(got.scale.bitPattern, want.scale.bitPattern, "\(format) m \(m) row \(r) block \(b) scale")
            XCTAssertEqual(got.values, want.values, "\(format) m \(m) row \(r) block \(b)")
            XCTAssertEqual(got.sums, want.sums, "\(format) m \(m) row \(r) block \(b) sums")
          }
        }
      }
    }
  }

  /// Each output within 1e-5 of 3·Σ|x̂|·max|w| of the exact (double) sum over the quantized
  /// activations x̂ = d·a: the integer sums are exact, and what is left is fp32 rounding of two
  /// multiply-adds per super-block whose terms (d·sc·q and dmin·m, each at most 2·max|w|) are
  /// bounded by that magnitude.
  func testProductsEqualTheExactSumOverTheQuantizedActivations() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 41)
    for (name, q, w) in try matrices() {
      for m in [1, 3, 8, 13, 16, 37] {
        let x = (0..<(m * q.cols)).map { _ in Float.random(in: -1...1, using: &g) }
        let quantized = x.withUnsafeBufferPointer { Q8KRows(format: q.format, rows: m, cols: q.cols, a: $0.baseAddress!) }
        let y = product(q, x, m: m)
        for i in 0..<m {
          var xq = [Double](repeating: 0, count: q.cols)
          for b in 0..<(q.cols / 256) {
            let block = quantized.block(row: i, index: b)
            for t in 0..<256 { xq[256 * b + t] = Double(block.scale) * Double(block.values[t]) }
          }
          let sumAbs = xq.reduce(0) { $0 + abs($1) }
          for j in 0..<q.rows {
            var exact = 0.0
            var largest = 0.0
            for t in 0..<q.cols {
              exact += xq[t] * Double(w[j * q.cols + t])
              largest = max(largest, abs(Double(w[j * q.cols + t])))
            }
            XCTAssertLessThanOrEqual(
              abs(Double(y[i * q.rows + j]) - exact), 1e-5 * 3 * sumAbs * largest + 1e-30, "\(name) m \(m) (\(i), \(j))")
          }
        }
      }
    }
  }

  /// Rows of several super-blocks (k = 768, 70 weight rows: the fixtures' matrices are one
  /// super-block wide) with random blocks and sane fp16 scales: within the same bound of the exact
  /// sum over the quantized activations, and each row the same bits alone as among 23.
  func testRowsOfSeveralSuperBlocks() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 53)
    let (rows, cols, m) = (70, 768, 23)
    for format in [SuperBlockMatrix.Format.q4_K, .q5_K, .q6_K] {
      let data = KQuantFixtureMatrices.randomBlocks(format, rows: rows, cols: cols, using: &g)
      data.withUnsafeBytes { raw in
        var q = SuperBlockMatrix(format: format, rows: rows, cols: cols, blocks: raw)
        q.compute = .int8
        let type: GGMLType = format == .q4_K ? .q4_K : format == .q5_K ? .q5_K : .q6_K
        var w = [Float](repeating: 0, count: rows * cols)
        w.withUnsafeMutableBufferPointer { Dequantize.decode(type, from: raw.baseAddress!, count: rows * cols, into: $0.baseAddress!) }
        let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
        let quantized = x.withUnsafeBufferPointer { Q8KRows(format: format, rows: m, cols: cols, a: $0.baseAddress!) }
        let y = product(q, x, m: m)
        for i in 0..<m {
          var xq = [Double](repeating: 0, count: cols)
          for b in 0..<(cols / 256) {
            let block = quantized.block(row: i, index: b)
            for t in 0..<256 { xq[256 * b + t] = Double(block.scale) * Double(block.values[t]) }
          }
          let sumAbs = xq.reduce(0) { $0 + abs($1) }
          for j in 0..<rows {
            var exact = 0.0, largest = 0.0
            for t in 0..<cols {
              exact += xq[t] * Double(w[j * cols + t])
              largest = max(largest, abs(Double(w[j * cols + t])))
            }
            XCTAssertLessThanOrEqual(abs(Double(y[i * rows + j]) - exact), 1e-5 * 3 * sumAbs * largest, "\(format) (\(i), \(j))")
          }
        }
        for i in [0, 4, 21, 22] {
          XCTAssertEqual(Array(y[(i * rows)..<((i + 1) * rows)]), product(q, x, m: 1, first: i), "\(format) row \(i)")
        }
      }
    }
  }

  /// Against the fp32 product: |y₈ − y₃₂| ≤ Σ_t |w_t|·|x_t − x̂_t| ≤ Σ_t |w_t|·amax(block of t)/254,
  /// the quantization's own bound (plus rounding), and the products do differ (it ran).
  func testProductsStayWithinTheQuantizationBoundOfTheFP32Product() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 43)
    var differing = 0
    for (name, q8, w) in try matrices() {
      var q32 = q8
      q32.compute = .fp32
      let m = 5
      let x = (0..<(m * q8.cols)).map { _ in Float.random(in: -1...1, using: &g) }
      let y8 = product(q8, x, m: m), y32 = product(q32, x, m: m)
      for i in 0..<m {
        let amax = (0..<(q8.cols / 256)).map { b in x[(i * q8.cols + 256 * b)..<(i * q8.cols + 256 * b + 256)].map(abs).max()! }
        for j in 0..<q8.rows {
          var bound = 0.0
          var magnitude = 0.0
          for t in 0..<q8.cols {
            bound += abs(Double(w[j * q8.cols + t])) * Double(amax[t / 256]) / 254
            magnitude += abs(Double(w[j * q8.cols + t]) * Double(x[i * q8.cols + t]))
          }
          let difference = abs(Double(y8[i * q8.rows + j]) - Double(y32[i * q8.rows + j]))
          XCTAssertLessThanOrEqual(difference, bound * 1.0001 + 1e-5 * magnitude, "\(name) (\(i), \(j))")
          if difference > 0 { differing += 1 }
        }
      }
    }
    XCTAssertGreaterThan(differing, 0)
  }

  /// A row's outputs are bitwise the same alone (the four-weight-row decode kernel), among a few
  /// rows (tiles of 4, 2 and 1 rows where the weights lie) or among 16 and more (the grouped kernel
  /// on unpacked weights; 19 rows: a full group and a padded one).
  func testEachRowIsTheSameForAnyRowCount() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 47)
    for (name, q, _) in try matrices() {
      let m = 19
      let x = (0..<(m * q.cols)).map { _ in Float.random(in: -1...1, using: &g) }
      let all = product(q, x, m: m)
      let few = product(q, Array(x[(12 * q.cols)..<(19 * q.cols)]), m: 7)
      for i in [0, 3, 4, 15, 17, 18] {
        let alone = product(q, x, m: 1, first: i)
        XCTAssertEqual(Array(all[(i * q.rows)..<((i + 1) * q.rows)]), alone, "\(name) row \(i)")
        if i >= 12 { XCTAssertEqual(Array(few[((i - 12) * q.rows)..<((i - 11) * q.rows)]), alone, "\(name) row \(i) of 7") }
      }
    }
  }

  /// A fused projection's matrices (Q4_K, Q6_K and Q5_K: both activation orders) in one parallel
  /// loop give each matrix's own product in its columns, bit for bit, with beta, for a decoding
  /// row, a few rows and a group.
  func testFusedProductsEqualEachMatrixAlone() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 59)
    let cols = 512
    let shapes: [(SuperBlockMatrix.Format, Int)] = [(.q4_K, 68), (.q6_K, 20), (.q5_K, 36)]
    let data = shapes.map { KQuantFixtureMatrices.randomBlocks($0.0, rows: $0.1, cols: cols, using: &g) }
    let width = shapes.reduce(0) { $0 + $1.1 }
    for m in [1, 5, 20] {
      let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
      let before = (0..<(m * width)).map { _ in Float.random(in: -1...1, using: &g) }
      var fused = before
      var alone = before
      data[0].withUnsafeBytes { r0 in
        data[1].withUnsafeBytes { r1 in
          data[2].withUnsafeBytes { r2 in
            var matrices: [(matrix: SuperBlockMatrix, column: Int)] = []
            var column = 0
            for (i, raw) in [r0, r1, r2].enumerated() {
              var q = SuperBlockMatrix(format: shapes[i].0, rows: shapes[i].1, cols: cols, blocks: raw)
              q.compute = .int8
              matrices.append((q, column))
              column += q.rows
            }
            x.withUnsafeBufferPointer { xp in
              fused.withUnsafeMutableBufferPointer {
                SuperBlockMatrix.multiplyQuantized(matrices, m: m, a: xp.baseAddress!, c: $0.baseAddress!, ldc: width, beta: 0.5)
              }
              alone.withUnsafeMutableBufferPointer { c in
                for (q, column) in matrices {
                  q.multiply(m: m, a: xp.baseAddress!, c: c.baseAddress! + column, ldc: width, beta: 0.5)
                }
              }
            }
            XCTAssertNotEqual(fused, before)
            XCTAssertEqual(fused.map(\.bitPattern), alone.map(\.bitPattern), "m \(m)")
          }
        }
      }
    }
  }

  /// With `ldc` and beta the product fills its own columns of a wider C, as the fp32 one does.
  func testProductIntoColumnsOfAWiderMatrix() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    let (_, q, _) = try XCTUnwrap(try matrices().first)
    KQuantFixtureMatrices.assertFillsColumnsOfAWiderMatrix(q)
  }
}
