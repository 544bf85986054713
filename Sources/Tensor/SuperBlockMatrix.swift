import CKernels

/// A weight matrix `[rows × cols]` in GGML's K-quant super-blocks (256 weights each), read
/// where the file lies: products with few activation rows (decoding) expand each 32-weight
/// sub-block to fp32 in registers, so they read the file's 0.56–0.82 bytes a weight and equal
/// a product with the dequantized fp32 matrix up to summation order.
///
/// Sendable by hand: `blocks` is read-only memory (a mapped file) that the owner keeps alive as
/// long as this value.
public struct SuperBlockMatrix: @unchecked Sendable {
  public enum Format: Sendable {
    case q4_K
    case q5_K
    case q6_K

    var code: Int32 {
      switch self {
      case .q4_K: Int32(PSR_Q4_K)
      case .q5_K: Int32(PSR_Q5_K)
      case .q6_K: Int32(PSR_Q6_K)
      }
    }

    /// Bytes of one 256-weight super-block.
    public var bytesPerBlock: Int { psr_superblock_bytes(code) }
  }

  public let format: Format
  public let rows: Int
  public let cols: Int
  let blocks: UnsafeRawBufferPointer
  /// Whether products quantize the activations to 8 bits (``ComputePrecision``); `int8` on a CPU
  /// without the 8-bit products runs the fp32 ones.
  public var compute: ComputePrecision = .fp32

  /// Rows stored one after another, each `cols / 256` super-blocks, as GGUF stores a tensor.
  /// `cols` must be a multiple of 256 and `blocks` exactly the matrix's bytes.
  public init(format: Format, rows: Int, cols: Int, blocks: UnsafeRawBufferPointer) {
    precondition(cols > 0 && cols % 256 == 0, "super-block rows must be whole 256-element blocks")
    precondition(blocks.count == rows * (cols / 256) * format.bytesPerBlock, "block data does not match the shape")
    self.format = format
    self.rows = rows
    self.cols = cols
    self.blocks = blocks
  }

  /// `C[i·ldc + j] = A[m×cols] · selfᵀ + beta · C` for j < rows, with A dense row-major and
  /// `ldc` (default `rows`) the stride of C's rows, so that the product can fill some columns of
  /// a wider C. Requires `QuantizedMatrix.isSupported`; rows are split over the cores. From
  /// `PackedRows.minimumRows` rows (on AVX-512) the product runs as panels on A packed once —
  /// `packed` where the caller has it, else packed here — with the same sums.
  public func multiply(
    m: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int? = nil, beta: Float = 0,
    packed: PackedRows? = nil
  ) {
    guard m > 0, rows > 0 else { return }
    let ldc = ldc ?? rows
    // The 8-bit products take A quantized once (``Q8KRows``) instead of packed.
    if quantizesActivations {
      Self.multiplyQuantized([(self, 0)], m: m, a: a, c: c, ldc: ldc, beta: beta)
      return
    }
    let packed = packed ?? PackedRows(rows: m, cols: cols, a: a)
    let ranges = rowRanges
    let base = blocks.baseAddress!.assumingMemoryBound(to: UInt8.self)
    withExtendedLifetime(packed) {
      Parallel.run(parts: ranges.count) { p in
        psr_superblock_gemm_nt(
          format.code, Int32(m), Int32(cols), a, packed?.pointer(), packed?.bf16 == true ? 1 : 0, base, c, ldc, beta,
          Int32(ranges[p].lowerBound), Int32(ranges[p].upperBound))
      }
    }
  }

  /// How a product splits this matrix's rows over the cores: whole groups of four rows per part
  /// (so that one-row products run the four-row kernel), two parts a core from 64 rows.
  private var rowRanges: [Range<Int>] {
    let n = rows
    let parts = n >= 64 ? min(n / 4, 2 * max(1, Parallel.cores)) : 1
    return (0..<parts).compactMap { p in
      let j0 = (n / 4) * p / parts * 4
      let j1 = p == parts - 1 ? n : (n / 4) * (p + 1) / parts * 4
      return j0 < j1 ? j0..<j1 : nil
    }
  }

  /// The 8-bit products of several matrices over the same input `A[m × cols]` (a fused
  /// projection's parts: q, k and v, or gate and up), each into its own columns of C from
  /// `column`, as one parallel loop: A is quantized once for each activation order (Q4_K and
  /// Q5_K share one, Q6_K has its own) and every matrix's row ranges are claimed from one job, so
  /// that decoding waits for the slower core once a projection instead of once a matrix. Each
  /// output is what ``multiply(m:a:c:ldc:beta:packed:)`` gives. All matrices must have `cols`
  /// columns and ``quantizesActivations``.
  public static func multiplyQuantized(
    _ matrices: [(matrix: SuperBlockMatrix, column: Int)], m: Int, a: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float = 0
  ) {
    guard m > 0, let cols = matrices.first?.matrix.cols else { return }
    precondition(
      matrices.allSatisfy { $0.matrix.cols == cols && $0.matrix.quantizesActivations },
      "fused 8-bit products need one input width and int8 matrices")
    let q6 = matrices.contains { $0.matrix.format == .q6_K } ? Q8KRows(format: .q6_K, rows: m, cols: cols, a: a) : nil
    let q45 = matrices.contains { $0.matrix.format != .q6_K } ? Q8KRows(format: .q4_K, rows: m, cols: cols, a: a) : nil
    let tasks = matrices.flatMap { matrix, column in matrix.rowRanges.map { (matrix, column, $0) } }
    withExtendedLifetime((q6, q45)) {
      Parallel.run(parts: tasks.count) { t in
        let (matrix, column, range) = tasks[t]
        matrix.multiplyRange(
          m: m, a: a, quantized: matrix.format == .q6_K ? q6! : q45!, c: c + column, ldc: ldc, beta: beta, rows: range)
      }
    }
  }

  /// Rows `rows` of the 8-bit product on `quantized` (A's quantization), fp32 where a thread's
  /// unpacking buffer was refused.
  private func multiplyRange(
    m: Int, a: UnsafePointer<Float>, quantized: Q8KRows, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float,
    rows range: Range<Int>
  ) {
    let base = blocks.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let (j0, j1) = (Int32(range.lowerBound), Int32(range.upperBound))
    let done = psr_superblock_q8_gemm_nt(format.code, Int32(m), Int32(cols), quantized.pointer, base, c, ldc, beta, j0, j1)
    if done == 0 {
      // Only where a thread's unpacking buffer was refused (the CPU was checked): fp32 products.
      psr_superblock_gemm_nt(format.code, Int32(m), Int32(cols), a, nil, 0, base, c, ldc, beta, j0, j1)
    }
  }

  /// Whether products run on 8-bit activations: `compute` is int8 and this CPU has the products.
  public var quantizesActivations: Bool { compute.effective == .int8 }

  /// Bytes read per product (the file's own).
  public var byteCount: Int { blocks.count }

  /// Rows `range` as fp32, `cols` values each, into `out`: `Dequantize`'s values bit for bit,
  /// with 512-bit vectors (what the panel products expand). False, with nothing written, on a
  /// CPU without AVX-512, where the caller expands the rows itself.
  public func expand(rows range: Range<Int>, into out: UnsafeMutablePointer<Float>) -> Bool {
    precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows out of range")
    guard !range.isEmpty else { return true }
    let base = blocks.baseAddress!.assumingMemoryBound(to: UInt8.self) + range.lowerBound * (cols / 256) * format.bytesPerBlock
    return psr_superblock_expand_rows(format.code, Int32(cols), base, Int32(range.count), out) != 0
  }
}
