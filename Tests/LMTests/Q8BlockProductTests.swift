import Foundation
import LM
import ModelFiles
import Tensor
import TestSupport
import XCTest

/// The 8-bit-activation products of the 32-weight block formats (`ComputePrecision.int8` on Q4_0…
/// Q8_0): the activations' quantization is llama.cpp's q8_0/q8_1 with fp32 fields, value for value;
/// the products equal the exact sum over the quantized activations; they stay within the
/// quantization's own bound of the fp32 product; and a row's outputs do not depend on the other rows.
final class Q8BlockProductTests: XCTestCase {
  /// A matrix of each kernel format with random blocks (fp16 scales in a realistic range): Q4_1 and
  /// Q8_0 from GGML blocks, q8_1 (Q5_1 repacked) from 5-bit values and two scales; and its weights.
  private func matrices(rows: Int, cols: Int, seed: UInt64) -> [(matrix: QuantizedMatrix, weights: [Float])] {
    var g = SeededGenerator(seed: seed)
    var out: [(QuantizedMatrix, [Float])] = []
    for type in [GGMLType.q4_1, .q8_0] {
      var bytes: [UInt8] = []
      for _ in 0..<(rows * cols / 32) {
        for s in 0..<(type == .q4_1 ? 2 : 1) {
          let v = Float16(Float.random(in: (s == 0 ? 0.001 : -0.1)...(s == 0 ? 0.02 : 0.1), using: &g))
          bytes += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init)
        }
        bytes += (0..<(type == .q4_1 ? 16 : 32)).map { _ in UInt8.random(in: 0...255, using: &g) }
      }
      var w = [Float](repeating: 0, count: rows * cols)
      let matrix = bytes.withUnsafeBytes { raw in
        Dequantize.decode(type, from: raw.baseAddress!, count: rows * cols, into: &w)
        return QuantizedMatrix(format: type == .q4_1 ? .q4_1 : .q8_0, cols: cols, parts: [(raw, rows)])
      }
      out.append((matrix, w))
    }
    var scales: [Float] = [], quants: [UInt8] = [], w: [Float] = []
    for _ in 0..<(rows * cols / 32) {
      let d = Float(Float16(Float.random(in: 0.001...0.02, using: &g))), m = Float(Float16(Float.random(in: -0.1...0.1, using: &g)))
      scales += [d, m]
      let values = (0..<32).map { _ in UInt8.random(in: 0...31, using: &g) }
      quants += values
      w += values.map { d * Float($0) + m }
    }
    out.append((QuantizedMatrix(format: .q8_1, rows: rows, cols: cols, scales: scales, quants: quants), w))
    return out.map { pair in
      var q = pair.0
      q.compute = .int8
      return (q, pair.1)
    }
  }

  private func product(_ q: QuantizedMatrix, _ x: [Float], m: Int, first: Int = 0) -> [Float] {
    var y = [Float](repeating: 0, count: m * q.rows)
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { q.multiply(m: m, a: xp.baseAddress! + first * q.cols, c: $0.baseAddress!) }
    }
    return y
  }

  /// llama.cpp's quantize_row_q8_0 as its x86 code runs it (round half to even), with the scale
  /// and the sum kept in fp32.
  private func reference(_ x: ArraySlice<Float>) -> (scale: Float, sum: Float, values: [Int8]) {
    let amax = x.map(abs).max() ?? 0
    guard amax > 0 else { return (0, 0, Array(repeating: 0, count: 32)) }
    let d = amax / 127, id = 1 / d
    let values = x.map { Int8(max(-127, min(127, Int(($0 * id).rounded(.toNearestOrEven))))) }
    return (d, d * Float(values.reduce(0) { $0 + Int($1) }), values)
  }

  func testQuantizationIsLlamaCppsQ8_0() {
    var g = SeededGenerator(seed: 7)
    let cols = 96  // three blocks: the last one half of a pair
    var x = (0..<(3 * cols)).map { _ in Float.random(in: -3...3, using: &g) }
    for t in 0..<32 { x[cols + 32 + t] = 0 }  // a zero block
    x[2 * cols + 5] = -40  // a block whose scale a negative value sets
    for format in [QuantizedMatrix.Format.q4_1, .q8_0, .q8_1] {
      let rows = x.withUnsafeBufferPointer { Q8BlockRows(format: format, rows: 3, cols: cols, a: $0.baseAddress!) }
      for r in 0..<3 {
        for b in 0..<3 {
          let got = rows.block(row: r, index: b)
          let want = reference(x[(r * cols + 32 * b)..<(r * cols + 32 * b + 32)])
          XCTAssertEqual(got.scale.bitPattern, want.scale.bitPattern, "\(format) row \(r) block \(b) scale")
          XCTAssertEqual(got.sum.bitPattern, want.sum.bitPattern, "\(format) row \(r) block \(b) sum")
          XCTAssertEqual(got.values, want.values, "\(format) row \(r) block \(b)")
        }
      }
    }
  }

  /// Each output within 1e-5 of 3·Σ|x̂|·max|w| of the exact (double) sum over the quantized
  /// activations x̂ = dx·a: the integer sums are exact, and what is left is the fp32 rounding of a
  /// product and a multiply-add per block (and one per 16 blocks for the minima). Widths of 3, 18
  /// and 33 blocks take a half pair at the end and groups of 16 blocks; 11 weight rows take the
  /// four-row decode kernel and the one- and two-row tiles.
  func testProductsEqualTheExactSumOverTheQuantizedActivations() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 41)
    for cols in [96, 576, 1056] {
      for (q, w) in matrices(rows: 11, cols: cols, seed: UInt64(cols)) {
        for m in [1, 3, 8, 13] {
          let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
          let quantized = x.withUnsafeBufferPointer { Q8BlockRows(format: q.format, rows: m, cols: cols, a: $0.baseAddress!) }
          let y = product(q, x, m: m)
          for i in 0..<m {
            var xq = [Double](repeating: 0, count: cols)
            for b in 0..<(cols / 32) {
              let block = quantized.block(row: i, index: b)
              for t in 0..<32 { xq[32 * b + t] = Double(block.scale) * Double(block.values[t]) }
            }
            let sumAbs = xq.reduce(0) { $0 + abs($1) }
            for j in 0..<q.rows {
              var exact = 0.0, largest = 0.0
              for t in 0..<cols {
                exact += xq[t] * Double(w[j * cols + t])
                largest = max(largest, abs(Double(w[j * cols + t])))
              }
              XCTAssertLessThanOrEqual(
                abs(Double(y[i * q.rows + j]) - exact), 1e-5 * 3 * sumAbs * largest + 1e-30, "\(q.format) k \(cols) m \(m) (\(i), \(j))")
            }
          }
        }
      }
    }
  }

  /// Against the fp32 product: |y₈ − y₃₂| ≤ Σ_t |w_t|·amax(block of t)/254, the quantization's own
  /// bound (plus rounding), and the products do differ (they ran).
  func testProductsStayWithinTheQuantizationBoundOfTheFP32Product() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 43)
    var differing = 0
    let cols = 576
    for (q8, w) in matrices(rows: 9, cols: cols, seed: 3) {
      var q32 = q8
      q32.compute = .fp32
      let m = 5
      let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
      let y8 = product(q8, x, m: m), y32 = product(q32, x, m: m)
      for i in 0..<m {
        let amax = (0..<(cols / 32)).map { b in x[(i * cols + 32 * b)..<(i * cols + 32 * b + 32)].map(abs).max()! }
        for j in 0..<q8.rows {
          var bound = 0.0, magnitude = 0.0
          for t in 0..<cols {
            bound += abs(Double(w[j * cols + t])) * Double(amax[t / 32]) / 254
            magnitude += abs(Double(w[j * cols + t]) * Double(x[i * cols + t]))
          }
          let difference = abs(Double(y8[i * q8.rows + j]) - Double(y32[i * q8.rows + j]))
          XCTAssertLessThanOrEqual(difference, bound * 1.0001 + 1e-5 * magnitude, "\(q8.format) (\(i), \(j))")
          if difference > 0 { differing += 1 }
        }
      }
    }
    XCTAssertGreaterThan(differing, 0)
  }

  /// A row's outputs are bitwise the same alone (the four-weight-row decode kernel) or among any
  /// number of rows (tiles of 4, 2 and 1 rows).
  func testEachRowIsTheSameForAnyRowCount() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 47)
    let cols = 1056
    for (q, _) in matrices(rows: 10, cols: cols, seed: 5) {
      let m = 19
      let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
      let all = product(q, x, m: m)
      for i in [0, 3, 4, 15, 17, 18] {
        XCTAssertEqual(Array(all[(i * q.rows)..<((i + 1) * q.rows)]), product(q, x, m: 1, first: i), "\(q.format) row \(i)")
      }
    }
  }

  /// With `ldc` and beta the product fills its own columns of a wider C.
  func testProductIntoColumnsOfAWiderMatrix() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    var g = SeededGenerator(seed: 53)
    let cols = 96
    for (q, _) in matrices(rows: 7, cols: cols, seed: 9) {
      let m = 3, ldc = 12, first = 2
      let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
      let c0 = (0..<(m * ldc)).map { _ in Float.random(in: -1...1, using: &g) }
      let alone = product(q, x, m: m)
      var c = c0
      x.withUnsafeBufferPointer { xp in
        c.withUnsafeMutableBufferPointer { q.multiply(m: m, a: xp.baseAddress!, c: $0.baseAddress! + first, ldc: ldc, beta: 0.5) }
      }
      for i in 0..<m {
        for j in 0..<ldc {
          let want = j >= first && j < first + q.rows ? 0.5 * c0[i * ldc + j] + alone[i * q.rows + j - first] : c0[i * ldc + j]
          XCTAssertEqual(c[i * ldc + j], want, accuracy: 1e-6, "\(q.format) (\(i), \(j))")
        }
      }
    }
  }
}
