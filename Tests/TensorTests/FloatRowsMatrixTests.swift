import Tensor
import XCTest

/// Products with fp32, fp16 and bf16 weight rows read as stored, against a naive double product
/// of the same (exactly converted) weights, and bitwise batch invariance.
final class FloatRowsMatrixTests: XCTestCase {
  /// 70 weight rows and 300 columns cut the 32-row panels, the 256-column steps and the last
  /// 16-column chunk; 130 activation rows cut the 120-row blocks.
  private let (rows, cols) = (70, 300)

  /// The matrix's bytes in `format` and the fp32 values they hold.
  private func weights(_ format: FloatRowsMatrix.Format, using g: inout TestGenerator) -> (bytes: [UInt8], values: [Float]) {
    var bytes: [UInt8] = []
    var values: [Float] = []
    for _ in 0..<(rows * cols) {
      let x = g.next()
      switch format {
      case .f32:
        values.append(x)
        withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 }
      case .f16:
        let h = Float16(x)
        values.append(Float(h))
        withUnsafeBytes(of: h.bitPattern.littleEndian) { bytes += $0 }
      case .bf16:
        let b = UInt16(truncatingIfNeeded: x.bitPattern >> 16)
        values.append(Float(bitPattern: UInt32(b) << 16))
        withUnsafeBytes(of: b.littleEndian) { bytes += $0 }
      }
    }
    return (bytes, values)
  }

  private func product(_ w: FloatRowsMatrix, _ x: [Float], m: Int, first: Int = 0, bf16: Bool = false, beta: Float = 0) -> [Float] {
    var y = (0..<(m * w.rows)).map { Float($0 % 7) - 3 }
    x.withUnsafeBufferPointer { xp in
      let a = xp.baseAddress! + first * w.cols
      let packed = PackedRows(rows: m, cols: w.cols, a: a, minimumRows: 1, bf16: bf16)
      y.withUnsafeMutableBufferPointer { w.multiply(m: m, a: a, c: $0.baseAddress!, beta: beta, packed: packed) }
    }
    return y
  }

  func testProductsEqualTheNaiveProductOfTheConvertedWeights() throws {
    try XCTSkipUnless(FloatRowsMatrix.isSupported, "needs AVX-512")
    var g = TestGenerator(state: 3)
    for format in [FloatRowsMatrix.Format.f32, .f16, .bf16] {
      let (bytes, values) = weights(format, using: &g)
      for m in [1, 7, 130] {
        let x = (0..<(m * cols)).map { _ in g.next() }
        let y = bytes.withUnsafeBytes { product(FloatRowsMatrix(format: format, rows: rows, cols: cols, data: $0), x, m: m) }
        for i in 0..<m {
          for j in 0..<rows {
            var exact = 0.0
            var magnitude = 0.0
            for t in 0..<cols {
              let p = Double(x[i * cols + t]) * Double(values[j * cols + t])
              exact += p
              magnitude += abs(p)
            }
            // An fp32 sum of 300 products, in any order, is within 301·2⁻²⁴·Σ|x·w| of the exact sum.
            XCTAssertEqual(
              Double(y[i * rows + j]), exact, accuracy: Double(cols + 1) * 0x1p-24 * magnitude, "\(format) m \(m) (\(i), \(j))")
          }
        }
      }
    }
  }

  /// Bitwise, at fp32 and at bf16, with and without beta: a row's outputs from products of up to
  /// `directRows` rows (weights read where they lie) and of more (panels) are the same bits. The
  /// widths cut the last 16- and 32-column chunks (300 = 9·32 + 12) or none (256), and 13 weight
  /// rows leave a last group of one.
  func testEachRowIsTheSameAloneOrAmongAnyNumberOfRows() throws {
    try XCTSkipUnless(FloatRowsMatrix.isSupported, "needs AVX-512")
    var g = TestGenerator(state: 4)
    let precisions = ComputePrecision.bf16IsSupported ? [false, true] : [false]
    for format in [FloatRowsMatrix.Format.f32, .f16, .bf16] {
      let (bytes, _) = weights(format, using: &g)
      let m = 130
      let x = (0..<(m * cols)).map { _ in g.next() }
      for bf16 in precisions {
        for beta: Float in [0, 0.5] {
          bytes.withUnsafeBytes { raw in
            let w = FloatRowsMatrix(format: format, rows: rows, cols: cols, data: raw)
            let all = product(w, x, m: m, bf16: bf16, beta: beta)
            for (i, count) in [(0, 1), (5, 1), (6, 7), (119, 1), (120, 6), (129, 1), (100, FloatRowsMatrix.directRows)] {
              let alone = product(w, x, m: count, first: i, bf16: bf16, beta: beta)
              for r in 0..<count {
                XCTAssertEqual(
                  Array(alone[(r * rows)..<((r + 1) * rows)]).map(\.bitPattern),
                  Array(all[((i + r) * rows)..<((i + r + 1) * rows)]).map(\.bitPattern),
                  "\(format) bf16 \(bf16) beta \(beta) row \(i + r) of \(count)")
              }
            }
          }
        }
      }
      // Other shapes: 256 columns (whole chunks), 13 weight rows, and 1,100 columns (several of the
      // panel path's steps, 256 wide at fp32 and 512 at bf16, with a last partial chunk).
      for (n, k) in [(13, 256), (13, 300), (64, 40), (9, 1100)] {
        let (b2, _) = (0..<(n * k)).reduce(into: ([UInt8](), 0)) { acc, _ in
          let v = g.next()
          switch format {
          case .f32: withUnsafeBytes(of: v.bitPattern.littleEndian) { acc.0 += $0 }
          case .f16: withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { acc.0 += $0 }
          case .bf16: withUnsafeBytes(of: UInt16(truncatingIfNeeded: v.bitPattern >> 16).littleEndian) { acc.0 += $0 }
          }
        }
        let xs = (0..<(40 * k)).map { _ in g.next() }
        for bf16 in precisions {
          b2.withUnsafeBytes { raw in
            let w = FloatRowsMatrix(format: format, rows: n, cols: k, data: raw)
            let all = product(w, xs, m: 40, bf16: bf16)
            let few = product(w, xs, m: 3, first: 37, bf16: bf16)
            XCTAssertEqual(few.map(\.bitPattern), Array(all[(37 * n)...]).map(\.bitPattern), "\(format) \(n) × \(k) bf16 \(bf16)")
          }
        }
      }
    }
  }
}
