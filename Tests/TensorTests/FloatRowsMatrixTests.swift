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

  private func product(_ w: FloatRowsMatrix, _ x: [Float], m: Int, first: Int = 0) -> [Float] {
    var y = [Float](repeating: 0, count: m * w.rows)
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { w.multiply(m: m, a: xp.baseAddress! + first * w.cols, c: $0.baseAddress!) }
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

  func testEachRowIsTheSameAloneOrAmongAnyNumberOfRows() throws {
    try XCTSkipUnless(FloatRowsMatrix.isSupported, "needs AVX-512")
    var g = TestGenerator(state: 4)
    for format in [FloatRowsMatrix.Format.f32, .f16, .bf16] {
      let (bytes, _) = weights(format, using: &g)
      let m = 130
      let x = (0..<(m * cols)).map { _ in g.next() }
      bytes.withUnsafeBytes { raw in
        let w = FloatRowsMatrix(format: format, rows: rows, cols: cols, data: raw)
        let all = product(w, x, m: m)
        for i in [0, 5, 6, 119, 120, 129] {
          XCTAssertEqual(Array(all[(i * rows)..<((i + 1) * rows)]), product(w, x, m: 1, first: i), "\(format) row \(i)")
        }
      }
    }
  }
}
