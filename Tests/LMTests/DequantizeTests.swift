import LM
import XCTest

final class DequantizeTests: XCTestCase {
  private func half(_ x: Float) -> [UInt8] {
    withUnsafeBytes(of: Float16(x).bitPattern.littleEndian) { Array($0) }
  }

  private func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { Dequantize.decode(type, from: $0.baseAddress!, count: count, into: &out) }
    return out
  }

  func testQ4_1UsesScaleAndMinimumWithLowNibblesFirst() {
    let nibbles = (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
    let x = decode(.q4_1, half(0.5) + half(-2) + nibbles, count: 32)
    for j in 0..<16 {
      XCTAssertEqual(x[j], 0.5 * Float(j) - 2)
      XCTAssertEqual(x[j + 16], 0.5 * Float(15 - j) - 2)
    }
  }

  func testQ4_0CentresNibblesAtEight() {
    let x = decode(.q4_0, half(0.25) + [UInt8](repeating: 0xF0, count: 16), count: 32)
    XCTAssertEqual(x[0], 0.25 * -8)
    XCTAssertEqual(x[16], 0.25 * 7)
  }

  func testQ8_0IsSignedBytesTimesScale() {
    let q: [Int8] = (0..<32).map { Int8($0 * 8 - 128) }
    let x = decode(.q8_0, half(0.125) + q.map { UInt8(bitPattern: $0) }, count: 32)
    for j in 0..<32 { XCTAssertEqual(x[j], 0.125 * Float(q[j])) }
  }

  func testF16AndBF16() {
    XCTAssertEqual(decode(.f16, half(1.5) + half(-0.25), count: 2), [1.5, -0.25])
    let bf: [UInt8] = [0x80, 0x3F, 0x00, 0xC0]  // 1.0, -2.0
    XCTAssertEqual(decode(.bf16, bf, count: 2), [1, -2])
  }
}
