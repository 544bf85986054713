import Foundation
import LM
import Tensor
import TestSupport
import XCTest

/// The K-quant matrices of the quant fixtures (the Q4_K, Q5_K and Q6_K tensors of the Q4_K_M, Q5_K_M
/// and Q6_K files of Tests/Fixtures/quants*.tar.gz) with their gguf-py-exact dequantized weights,
/// shared by the fp32 and the 8-bit product tests. The files stay open as long as this value: the
/// matrices point into their mappings.
final class KQuantFixtureMatrices {
  private static let root: Result<String, Error> = Result { try Fixtures.quantFiles() }
  private let files: [GGUFFile]
  let all: [(name: String, matrix: SuperBlockMatrix, weights: [Float])]

  init(compute: ComputePrecision) throws {
    var files: [GGUFFile] = []
    var found: [(String, SuperBlockMatrix, [Float])] = []
    let formats: [GGMLType: SuperBlockMatrix.Format] = [.q4_K: .q4_K, .q5_K: .q5_K, .q6_K: .q6_K]
    for file in ["Q4_K_M", "Q5_K_M", "Q6_K"] {
      let gguf = try GGUFFile(path: try Self.root.get() + "/\(file).gguf")
      files.append(gguf)
      for (name, info) in gguf.tensors.sorted(by: { $0.key < $1.key }) {
        guard let format = formats[info.type], info.dimensions.count == 2 else { continue }
        var matrix = SuperBlockMatrix(
          format: format, rows: info.dimensions[1], cols: info.dimensions[0], blocks: gguf.tensorData(info))
        matrix.compute = compute
        found.append(("\(file) \(name)", matrix, gguf.dequantize(info)))
      }
    }
    self.files = files
    all = found
    XCTAssertEqual(Set(found.map { "\($0.1.format)" }), ["q4_K", "q5_K", "q6_K"])
  }

  /// `q · x` for `m` rows of `x` from row `first`.
  static func product(_ q: SuperBlockMatrix, _ x: [Float], m: Int, first: Int = 0) -> [Float] {
    var y = [Float](repeating: 0, count: m * q.rows)
    x.withUnsafeBufferPointer { xp in
      y.withUnsafeMutableBufferPointer { q.multiply(m: m, a: xp.baseAddress! + first * q.cols, c: $0.baseAddress!) }
    }
    return y
  }

  /// Random super-blocks of `format` for `rows × cols` weights, with fp16 scales in [2⁻¹⁰, 2⁻⁶)
  /// (exponent 5 to 8, random mantissa) so that sums stay in a sane range.
  static func randomBlocks(_ format: SuperBlockMatrix.Format, rows: Int, cols: Int, using g: inout SeededGenerator) -> [UInt8] {
    let bytes = format.bytesPerBlock
    let scaleOffsets = format == .q6_K ? [208] : [0, 2]
    var data = (0..<(rows * cols / 256 * bytes)).map { _ in UInt8.random(in: 0...255, using: &g) }
    for b in 0..<(rows * cols / 256) {
      for offset in scaleOffsets {
        let half = UInt16.random(in: 5...8, using: &g) << 10 | UInt16.random(in: 0..<1024, using: &g)
        data[b * bytes + offset] = UInt8(half & 0xFF)
        data[b * bytes + offset + 1] = UInt8(half >> 8)
      }
    }
    return data
  }

  /// With `ldc` the product fills its own columns of a wider C and leaves the others alone; beta
  /// scales what was there.
  static func assertFillsColumnsOfAWiderMatrix(_ q: SuperBlockMatrix, file: StaticString = #filePath, line: UInt = #line) {
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
        XCTAssertEqual(
          c[i * width + j], inside ? 1 + alone[i * q.rows + j - 3] : 2, accuracy: inside ? 1e-6 : 0, "(\(i), \(j))", file: file,
          line: line)
      }
    }
  }
}
