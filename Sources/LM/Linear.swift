import Foundation
import Tensor

/// How a model holds its projection weights.
public enum WeightPrecision: String, Codable, Sendable, CaseIterable {
  /// An fp32 copy of every matrix: fastest for small models, 4 bytes a parameter.
  case fp32
  /// The file's own blocks (quantized, bf16, f16), memory-mapped; products expand one block of
  /// rows at a time into a reused fp32 scratch, so memory stays near the file's size.
  case native

  /// Native products expand at most this many weight floats at a time (16 MB of scratch); a
  /// smaller value splits even small matrices into several blocks, which tests use.
  nonisolated(unsafe) public static var expansionFloats = 4 << 20

  /// fp32 up to a billion parameters (a 4 GB copy), native beyond.
  public static func automatic(parameterCount: Int) -> WeightPrecision {
    parameterCount <= 1_000_000_000 ? .fp32 : .native
  }
}

/// A projection `y = x · Wᵀ` with `W` stored `[out × in]`: either as fp32 or as the file's rows
/// (`native`), plus, when the file holds Q4_1 or Q8_0 blocks, those blocks for products with
/// few rows (decoding), which are bound by reading the weights.
///
/// Sendable by hand: every property is a constant, and `parts` point into a read-only mapping
/// that the model's tensor source keeps alive as long as the model.
struct Linear: @unchecked Sendable {
  /// The fp32 weights, `[out × in]` row-major, or nil where the file's rows are used.
  let dense: [Float]?
  /// The file's rows, part by part (mapped memory that the model's source keeps alive).
  let parts: [(data: UnsafeRawBufferPointer, type: GGMLType, rows: Int)]
  let quantized: QuantizedMatrix?
  /// One kernel matrix per part, where the parts' types differ (a fused Q/K/V of Q4_K and Q6_K).
  let quantizedParts: [QuantizedMatrix]?
  let outputs: Int
  let inputs: Int

  /// Up to this many rows go through the quantized kernel: it reads the weights once per
  /// call at a quarter to a seventh of the fp32 bytes; past it, sgemm's blocking wins.
  static let quantizedRowLimit = 64

  /// `C[m × out] = A[m × in] · Wᵀ + beta · C`.
  func apply(m: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, beta: Float = 0) {
    if let quantized, m <= Self.quantizedRowLimit {
      quantized.multiply(m: m, a: a, c: c, beta: beta)
    } else if let quantizedParts, m <= Self.quantizedRowLimit {
      applyParts(quantizedParts, m: m, a: a, c: c, beta: beta)
    } else if let dense {
      BLAS.gemm(m: m, n: outputs, k: inputs, a: a, b: dense, transposeB: true, c: c, beta: beta)
    } else {
      forEachExpandedBlock { rows, w in
        BLAS.gemm(
          m: m, n: rows.count, k: inputs, a: a, b: w, transposeB: true, c: c + rows.lowerBound, ldc: outputs, beta: beta)
      }
    }
  }

  /// Each part's product into its columns of C.
  private func applyParts(
    _ matrices: [QuantizedMatrix], m: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, beta: Float
  ) {
    // One scratch for every part: the kernel writes dense rows, C wants them as column blocks.
    let part = UnsafeMutablePointer<Float>.allocate(capacity: m * (matrices.map(\.rows).max() ?? 0))
    defer { part.deallocate() }
    var column = 0
    for q in matrices {
      q.multiply(m: m, a: a, c: part)
      for i in 0..<m {
        let row = c + i * outputs + column
        for j in 0..<q.rows { row[j] = (beta == 0 ? 0 : beta * row[j]) + part[i * q.rows + j] }
      }
      column += q.rows
    }
  }

  /// `C[m × in] = G[m × out] · W + beta · C`: the gradient with respect to the input.
  func applyTransposed(m: Int, g: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, beta: Float = 0) {
    if let dense {
      BLAS.gemm(m: m, n: inputs, k: outputs, a: g, b: dense, transposeB: false, c: c, beta: beta)
    } else {
      var first = true
      forEachExpandedBlock { rows, w in
        BLAS.gemm(
          m: m, n: inputs, k: rows.count, a: g + rows.lowerBound, lda: outputs, b: w, transposeB: false, c: c,
          beta: first ? beta : 1)
        first = false
      }
    }
  }

  func apply(_ a: Matrix, into c: inout Matrix, beta: Float = 0) {
    precondition(a.cols == inputs && c.cols == outputs && a.rows == c.rows, "projection shapes do not match")
    a.storage.withUnsafeBufferPointer { ap in
      c.storage.withUnsafeMutableBufferPointer { cp in
        apply(m: a.rows, a: ap.baseAddress!, c: cp.baseAddress!, beta: beta)
      }
    }
  }

  func applyTransposed(_ g: Matrix, into c: inout Matrix, beta: Float = 0) {
    precondition(g.cols == outputs && c.cols == inputs && g.rows == c.rows, "projection shapes do not match")
    g.storage.withUnsafeBufferPointer { gp in
      c.storage.withUnsafeMutableBufferPointer { cp in
        applyTransposed(m: g.rows, g: gp.baseAddress!, c: cp.baseAddress!, beta: beta)
      }
    }
  }

  /// Row `r` of W (fp32), e.g. a token's embedding.
  func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
    if let dense {
      dense.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + r * inputs, count: inputs) }
      return
    }
    var start = 0
    for part in parts {
      if r < start + part.rows {
        let rowBytes = inputs / part.type.blockSize * part.type.blockBytes
        Dequantize.decode(part.type, from: part.data.baseAddress! + (r - start) * rowBytes, count: inputs, into: out)
        return
      }
      start += part.rows
    }
  }

  /// Calls `body` with consecutive blocks of W's rows expanded to fp32 (a block never spans two
  /// parts), in order; the expansion is split over the cores.
  private func forEachExpandedBlock(_ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
    let blockRows = max(1, min(outputs, WeightPrecision.expansionFloats / max(1, inputs)))
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * inputs)
    defer { scratch.deallocate() }
    var start = 0
    for part in parts {
      let rowBytes = inputs / part.type.blockSize * part.type.blockBytes
      for r0 in stride(from: 0, to: part.rows, by: blockRows) {
        let count = min(blockRows, part.rows - r0)
        let pieces = min(count, 2 * max(1, Parallel.cores))
        Parallel.perform(pieces) { p in
          let lo = count * p / pieces
          let hi = count * (p + 1) / pieces
          Dequantize.decode(
            part.type, from: part.data.baseAddress! + (r0 + lo) * rowBytes, count: (hi - lo) * inputs,
            into: scratch + lo * inputs)
        }
        body((start + r0)..<(start + r0 + count), scratch)
      }
      start += part.rows
    }
  }
}

extension Linear {
  /// The rows in a layout the decode kernel runs, or nil for types it has none for (and on CPUs
  /// without AVX2).
  static func kernelMatrix(_ blocks: [(blocks: UnsafeRawBufferPointer, rows: Int)], type: GGMLType, cols: Int) -> QuantizedMatrix? {
    guard QuantizedMatrix.isSupported, cols % 32 == 0 else { return nil }
    switch type {
    case .q4_1: return QuantizedMatrix(format: .q4_1, cols: cols, parts: blocks)
    case .q8_0: return QuantizedMatrix(format: .q8_0, cols: cols, parts: blocks)
    case .q4_K: return repackQ4K(blocks, cols: cols)
    case .q6_K, .q5_0: return repackInt8(blocks, type: type, cols: cols)
    case .q5_K, .q5_1: return repackFiveBit(blocks, type: type, cols: cols)
    default: return nil
    }
  }

  /// Calls `body(scale, minimum, q)` for each 32-weight sub-block of the Q4_K or Q5_K blocks in
  /// `parts`, in order: scale d·sc, minimum −dmin·m and the 32 integer values q (4 or 5 bits), so
  /// that scale·q + minimum is the dequantized weight.
  private static func forEachKQuantSubBlock(
    _ parts: [(blocks: UnsafeRawBufferPointer, rows: Int)], type: GGMLType, cols: Int, _ body: (Float, Float, [UInt8]) -> Void
  ) {
    let five = type == .q5_K
    var values = [UInt8](repeating: 0, count: 32)
    for part in parts {
      let base = part.blocks.baseAddress!
      for b in 0..<(part.rows * cols / 256) {
        let block = base + b * type.blockBytes
        let d = Dequantize.half(block, 0)
        let dmin = Dequantize.half(block, 2)
        for chunk in 0..<4 {
          let q = block + (five ? 48 : 16) + 32 * chunk
          for (sub, shift) in [(2 * chunk, UInt8(0)), (2 * chunk + 1, UInt8(4))] {
            let (sc, m) = Dequantize.scaleMin(sub, block + 4)
            for l in 0..<32 {
              let low = (q.load(fromByteOffset: l, as: UInt8.self) >> shift) & 0xF
              let fifth = five ? (block.load(fromByteOffset: 16 + l, as: UInt8.self) >> UInt8(sub)) & 1 : 0
              values[l] = low | fifth << 4
            }
            body(d * sc, -(dmin * m), values)
          }
        }
      }
    }
  }

  /// Q4_K rows in the Q4_1 kernel's layout: each 32-weight sub-block becomes a block with scale
  /// d·sc and minimum −dmin·m, its nibbles reordered (weight t low, t + 16 high in byte t), so
  /// that decoding runs the fused Q4_1 kernel (w = scale·q + minimum, the same value).
  static func repackQ4K(_ parts: [(blocks: UnsafeRawBufferPointer, rows: Int)], cols: Int) -> QuantizedMatrix {
    let rows = parts.reduce(0) { $0 + $1.rows }
    var scales: [Float] = []
    var quants: [UInt8] = []
    scales.reserveCapacity(rows * cols / 16)
    quants.reserveCapacity(rows * cols / 2)
    forEachKQuantSubBlock(parts, type: .q4_K, cols: cols) { scale, minimum, q in
      scales += [scale, minimum]
      for t in 0..<16 { quants.append(q[t] | q[t + 16] << 4) }
    }
    return QuantizedMatrix(format: .q4_1, rows: rows, cols: cols, scales: scales, quants: quants)
  }

  /// Q5_K or Q5_1 rows as unsigned bytes (the 5-bit value q) with a scale and a minimum per 32
  /// (`q8_1`): Q5_K's sub-block j gives scale d·sc and minimum −dmin·m, Q5_1's block d and m, so
  /// w = scale·q + minimum is the dequantized weight.
  static func repackFiveBit(_ parts: [(blocks: UnsafeRawBufferPointer, rows: Int)], type: GGMLType, cols: Int) -> QuantizedMatrix {
    let rows = parts.reduce(0) { $0 + $1.rows }
    var scales: [Float] = []
    var quants: [UInt8] = []
    scales.reserveCapacity(rows * cols / 16)
    quants.reserveCapacity(rows * cols)
    guard type == .q5_1 else {
      forEachKQuantSubBlock(parts, type: .q5_K, cols: cols) { scale, minimum, q in
        scales += [scale, minimum]
        quants += q
      }
      return QuantizedMatrix(format: .q8_1, rows: rows, cols: cols, scales: scales, quants: quants)
    }
    for part in parts {
      let base = part.blocks.baseAddress!
      for b in 0..<(part.rows * cols / 32) {
        let block = base + b * type.blockBytes
        scales += [Dequantize.half(block, 0), Dequantize.half(block, 2)]
        let high = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        var values = [UInt8](repeating: 0, count: 32)
        for j in 0..<16 {
          let q = block.load(fromByteOffset: 8 + j, as: UInt8.self)
          values[j] = (q & 0x0F) | UInt8(truncatingIfNeeded: (high >> UInt32(j)) << 4 & 0x10)
          values[j + 16] = (q >> 4) | UInt8(truncatingIfNeeded: (high >> UInt32(j + 12)) & 0x10)
        }
        quants += values
      }
    }
    return QuantizedMatrix(format: .q8_1, rows: rows, cols: cols, scales: scales, quants: quants)
  }

  /// Q6_K or Q5_0 rows as signed bytes with their scales: Q6_K's value q − 32 with one scale
  /// d·sc for each 16 (`q8_2`), Q5_0's value q − 16 with its scale d (`q8_0`); both give exactly
  /// the dequantized weights.
  static func repackInt8(_ parts: [(blocks: UnsafeRawBufferPointer, rows: Int)], type: GGMLType, cols: Int) -> QuantizedMatrix {
    let rows = parts.reduce(0) { $0 + $1.rows }
    var scales: [Float] = []
    var quants: [UInt8] = []
    quants.reserveCapacity(rows * cols)
    var values = [Float](repeating: 0, count: type.blockSize)
    for part in parts {
      let base = part.blocks.baseAddress!
      for b in 0..<(part.rows * cols / type.blockSize) {
        let block = base + b * type.blockBytes
        // The integer values come from the block itself; the scales as the dequantizer forms them.
        values.withUnsafeMutableBufferPointer { Dequantize.decode(type, from: block, count: type.blockSize, into: $0.baseAddress!) }
        if type == .q6_K {
          let d = Dequantize.half(block, 208)
          for g in 0..<16 {
            let scale = d * Float(block.load(fromByteOffset: 192 + g, as: Int8.self))
            scales.append(scale)
            for t in 0..<16 { quants.append(UInt8(bitPattern: Int8(scale == 0 ? 0 : (values[16 * g + t] / scale).rounded()))) }
          }
        } else {
          let d = Dequantize.half(block, 0)
          scales.append(d)
          for t in 0..<32 { quants.append(UInt8(bitPattern: Int8(d == 0 ? 0 : (values[t] / d).rounded()))) }
        }
      }
    }
    return QuantizedMatrix(format: type == .q6_K ? .q8_2 : .q8_0, rows: rows, cols: cols, scales: scales, quants: quants)
  }

  /// Loads the named tensors (each `[in, out_i]` in GGUF order) stacked row-wise into one
  /// projection, as fp32 or at the file's precision; keeps the rows in a decode-kernel layout
  /// too where the file's types have one (Q4_1, Q8_0; Q4_K, Q6_K and Q5_0 repacked), per part when
  /// the parts' types differ.
  init(gguf: some TensorSource, _ parts: [(name: String, outputs: Int)], inputs: Int, precision: WeightPrecision = .fp32) throws {
    var infos: [GGUFTensorInfo] = []
    for part in parts {
      let info = try gguf.tensor(part.name)
      guard info.dimensions == [inputs, part.outputs] else {
        throw ModelError.tensorShape(name: part.name, found: info.dimensions, expected: [inputs, part.outputs])
      }
      infos.append(info)
    }
    self.dense = precision == .fp32 ? infos.flatMap { gguf.dequantize($0) } : nil
    self.parts = zip(infos, parts).map { (gguf.tensorData($0), $0.type, $1.outputs) }
    self.inputs = inputs
    self.outputs = parts.reduce(0) { $0 + $1.outputs }
    let blocks = zip(infos, parts).map { (gguf.tensorData($0), $1.outputs) }
    let types = infos.map(\.type)
    if Set(types).count == 1 {
      quantized = Self.kernelMatrix(blocks, type: types[0], cols: inputs)
      quantizedParts = nil
    } else {
      quantized = nil
      let each = zip(blocks, types).map { Self.kernelMatrix([$0], type: $1, cols: inputs) }
      quantizedParts = each.allSatisfy { $0 != nil } ? each.map { $0! } : nil
    }
  }
}
