import Tensor

/// A decode kernel over some consecutive rows of a projection's weights, for products with few
/// activation rows. K-quant rows (Q4_K, Q5_K, Q6_K) are read where the file maps them; the
/// 32-weight block types are repacked once into the kernel's layout (Q4_1 and Q8_0 keep their
/// values and unpack their scales; Q4_0, Q5_0 and Q5_1 become Q4_1, Q8_0 and q8_1 blocks with the
/// same weights). Either way the kernel expands exactly the weights Dequantize produces.
enum RowKernel {
  case superBlocks(SuperBlockMatrix)
  case repacked(QuantizedMatrix)
  /// fp32, fp16 or bf16 rows of a native-precision model (AVX-512 only).
  case floats(FloatRowsMatrix)

  var rows: Int {
    switch self {
    case .superBlocks(let m): m.rows
    case .repacked(let m): m.rows
    case .floats(let m): m.rows
    }
  }

  /// Whether this kernel's products run on 8-bit activations (never for float rows).
  var quantizesActivations: Bool {
    switch self {
    case .superBlocks(let m): m.quantizesActivations
    case .repacked(let m): m.quantizesActivations
    case .floats: false
    }
  }

  /// This kernel with its products at `compute`, on the same weights.
  func computing(_ compute: ComputePrecision) -> RowKernel {
    switch self {
    case .superBlocks(var m):
      m.compute = compute
      return .superBlocks(m)
    case .repacked(var m):
      m.compute = compute
      return .repacked(m)
    case .floats: return self
    }
  }

  /// From how many rows a product packs its input once for every kernel: float rows always run
  /// as panels; the block kernels from `PackedRows.minimumRows`.
  var panelRows: Int {
    switch self {
    case .floats: return 1
    // The 8-bit products quantize their input instead of packing it.
    case .superBlocks(let m) where m.quantizesActivations: return Int.max
    case .repacked(let m) where m.quantizesActivations: return Int.max
    default: return PackedRows.minimumRows
    }
  }

  /// Where every kernel is K-quant rows with 8-bit products: each matrix with its first column
  /// (for ``SuperBlockMatrix/multiplyQuantized(_:m:a:c:ldc:beta:)``, one parallel loop for all).
  static func quantizedSuperBlocks(_ kernels: [RowKernel]) -> [(matrix: SuperBlockMatrix, column: Int)]? {
    var column = 0
    var matrices: [(matrix: SuperBlockMatrix, column: Int)] = []
    for kernel in kernels {
      guard case .superBlocks(let matrix) = kernel, matrix.quantizesActivations else { return nil }
      matrices.append((matrix, column))
      column += matrix.rows
    }
    return matrices
  }

  /// `C[i·ldc + j] = A[m × cols] · Wᵀ + beta · C` over this kernel's rows j.
  func multiply(m: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, packed: PackedRows?) {
    switch self {
    case .superBlocks(let matrix): matrix.multiply(m: m, a: a, c: c, ldc: ldc, beta: beta, packed: packed)
    case .repacked(let matrix): matrix.multiply(m: m, a: a, c: c, ldc: ldc, beta: beta, packed: packed)
    case .floats(let matrix): matrix.multiply(m: m, a: a, c: c, ldc: ldc, beta: beta, packed: packed)
    }
  }

  /// Kernels covering all of `parts`' rows in order, or nil when a part's type has none or the
  /// CPU lacks AVX2. Float parts have kernels only with `floats` (a native-precision model on an
  /// AVX-512 CPU; otherwise their products use fp32 weights or expand rows into sgemm). Parts of
  /// one repacked type share one kernel, so that a fused projection runs as one product.
  static func covering(
    _ parts: [(data: UnsafeRawBufferPointer, type: GGMLType, rows: Int)], cols: Int, floats: Bool,
    compute: ComputePrecision = .fp32
  ) -> [RowKernel]? {
    guard !parts.isEmpty else { return nil }
    if floats, FloatRowsMatrix.isSupported, parts.allSatisfy({ floatFormat($0.type) != nil }) {
      return parts.map {
        .floats(FloatRowsMatrix(format: floatFormat($0.type)!, rows: $0.rows, cols: cols, data: $0.data))
      }
    }
    guard QuantizedMatrix.isSupported, cols % 32 == 0 else { return nil }
    let types = Set(parts.map(\.type))
    if types.count == 1, let format = repackedFormat(parts[0].type) {
      return [repacked(parts.map { ($0.data, $0.rows) }, type: parts[0].type, format: format, cols: cols, compute: compute)]
    }
    var kernels: [RowKernel] = []
    for part in parts {
      if let format = superBlockFormat(part.type), cols % 256 == 0 {
        var matrix = SuperBlockMatrix(format: format, rows: part.rows, cols: cols, blocks: part.data)
        matrix.compute = compute
        kernels.append(.superBlocks(matrix))
      } else if let format = repackedFormat(part.type) {
        kernels.append(repacked([(part.data, part.rows)], type: part.type, format: format, cols: cols, compute: compute))
      } else {
        return nil
      }
    }
    return kernels
  }

  private static func floatFormat(_ type: GGMLType) -> FloatRowsMatrix.Format? {
    switch type {
    case .f32: .f32
    case .f16: .f16
    case .bf16: .bf16
    default: nil
    }
  }

  static func superBlockFormat(_ type: GGMLType) -> SuperBlockMatrix.Format? {
    switch type {
    case .q4_K: .q4_K
    case .q5_K: .q5_K
    case .q6_K: .q6_K
    default: nil
    }
  }

  private static func repackedFormat(_ type: GGMLType) -> QuantizedMatrix.Format? {
    switch type {
    case .q4_0, .q4_1: .q4_1
    case .q5_0, .q8_0: .q8_0
    case .q5_1: .q8_1
    default: nil
    }
  }

  /// The kernel of `parts` repacked (below), its products at `compute`.
  private static func repacked(
    _ parts: [(data: UnsafeRawBufferPointer, rows: Int)], type: GGMLType, format: QuantizedMatrix.Format, cols: Int,
    compute: ComputePrecision
  ) -> RowKernel {
    var matrix = repack(parts, type: type, format: format, cols: cols)
    matrix.compute = compute
    return .repacked(matrix)
  }

  /// The blocks of `parts` (stacked row-wise) in `format`'s layout: per 32 weights, the scales
  /// and the quantized values such that scale·q (+ minimum) is the dequantized weight.
  private static func repack(
    _ parts: [(data: UnsafeRawBufferPointer, rows: Int)], type: GGMLType, format: QuantizedMatrix.Format, cols: Int
  ) -> QuantizedMatrix {
    if type == .q4_1 || type == .q8_0 { return QuantizedMatrix(format: format, cols: cols, parts: parts.map { ($0.data, $0.rows) }) }
    let rows = parts.reduce(0) { $0 + $1.rows }
    let blockCount = rows * cols / 32
    var scales: [Float] = []
    var quants: [UInt8] = []
    scales.reserveCapacity(blockCount * format.scaleCount)
    quants.reserveCapacity(blockCount * format.quantBytes)
    for part in parts {
      let base = part.data.baseAddress!
      for b in 0..<(part.rows * cols / 32) {
        repackBlock(base + b * type.blockBytes, type: type, scales: &scales, quants: &quants)
      }
    }
    return QuantizedMatrix(format: format, rows: rows, cols: cols, scales: scales, quants: quants)
  }

  private static func repackBlock(_ block: UnsafeRawPointer, type: GGMLType, scales: inout [Float], quants: inout [UInt8]) {
    func byte(_ i: Int) -> UInt8 { block.load(fromByteOffset: i, as: UInt8.self) }
    let d = Dequantize.half(block, 0)
    switch type {
    case .q4_0:
      // Q4_1's layout (weight t low, t + 16 high in byte t) with d·(q − 8) = d·q + (−8d), exact.
      scales += [d, -8 * d]
      for t in 0..<16 { quants.append(byte(2 + t)) }
    case .q5_0, .q5_1:
      // The fifth bits: bit j of qh belongs to weight j (low nibble of byte j), bit j + 16 to
      // weight j + 16 (its high nibble).
      let five = type == .q5_1
      if five { scales += [d, Dequantize.half(block, 2)] } else { scales.append(d) }
      let high = block.loadUnaligned(fromByteOffset: five ? 4 : 2, as: UInt32.self).littleEndian
      let qs = five ? 8 : 6
      var values = [UInt8](repeating: 0, count: 32)
      for j in 0..<16 {
        let q = byte(qs + j)
        values[j] = (q & 0x0F) | UInt8(truncatingIfNeeded: (high >> UInt32(j)) << 4 & 0x10)
        values[j + 16] = (q >> 4) | UInt8(truncatingIfNeeded: (high >> UInt32(j + 12)) & 0x10)
      }
      // Q5_0 holds q − 16 as a signed byte (scale d), Q5_1 q itself (scale d, minimum m).
      quants += five ? values : values.map { UInt8(bitPattern: Int8($0) - 16) }
    default:
      preconditionFailure("no 32-weight repacking for \(type)")
    }
  }
}
