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
    // The 8-bit products take A quantized once (``Q8KRows``) instead of packed.
    let quantized = quantizesActivations ? Q8KRows(format: format, rows: m, cols: cols, a: a) : nil
    let packed = quantized == nil ? packed ?? PackedRows(rows: m, cols: cols, a: a) : nil
    let n = rows
    let ldc = ldc ?? n
    let parts = n >= 64 ? min(n / 4, 2 * max(1, Parallel.cores)) : 1
    let base = blocks.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let code = format.code
    withExtendedLifetime((quantized, packed)) {
      Parallel.run(parts: parts) { p in
        // Whole groups of four rows per part, so that one-row products run the four-row kernel.
        let j0 = (n / 4) * p / parts * 4
        let j1 = p == parts - 1 ? n : (n / 4) * (p + 1) / parts * 4
        guard j0 < j1 else { return }
        if let quantized {
          multiplyRange(m: m, a: a, quantized: quantized, c: c, ldc: ldc, beta: beta, j0: j0, j1: j1)
        } else {
          psr_superblock_gemm_nt(
            code, Int32(m), Int32(cols), a, packed?.pointer(), packed?.bf16 == true ? 1 : 0, base, c, ldc, beta, Int32(j0),
            Int32(j1))
        }
      }
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
    let orders = Set(matrices.map { $0.matrix.format == .q6_K })
    let quantized = Dictionary(uniqueKeysWithValues: orders.map { q6 in
      (q6, Q8KRows(format: q6 ? .q6_K : .q4_K, rows: m, cols: cols, a: a))
    })
    var tasks: [(matrix: SuperBlockMatrix, column: Int, j0: Int, j1: Int)] = []
    for (matrix, column) in matrices {
      let n = matrix.rows
      let parts = n >= 64 ? min(n / 4, 2 * max(1, Parallel.cores)) : 1
      for p in 0..<parts {
        let j0 = (n / 4) * p / parts * 4
        let j1 = p == parts - 1 ? n : (n / 4) * (p + 1) / parts * 4
        if j0 < j1 { tasks.append((matrix, column, j0, j1)) }
      }
    }
    withExtendedLifetime(quantized) {
      Parallel.run(parts: tasks.count) { t in
        let task = tasks[t]
        task.matrix.multiplyRange(
          m: m, a: a, quantized: quantized[task.matrix.format == .q6_K]!, c: c + task.column, ldc: ldc, beta: beta,
          j0: task.j0, j1: task.j1)
      }
    }
  }

  /// Rows j0 ..< j1 of the 8-bit product on `quantized` (A's quantization), fp32 where a thread's
  /// unpacking buffer was refused.
  private func multiplyRange(
    m: Int, a: UnsafePointer<Float>, quantized: Q8KRows, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float, j0: Int,
    j1: Int
  ) {
    let base = blocks.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let done = psr_superblock_q8_gemm_nt(
      format.code, Int32(m), Int32(cols), quantized.pointer, base, c, ldc, beta, Int32(j0), Int32(j1))
    if done == 0 {
      // Only where a thread's unpacking buffer was refused (the CPU was checked): fp32 products.
      psr_superblock_gemm_nt(format.code, Int32(m), Int32(cols), a, nil, 0, base, c, ldc, beta, Int32(j0), Int32(j1))
    }
  }

  /// Whether products run on 8-bit activations: `compute` is int8 and this CPU has the products.
  public var quantizesActivations: Bool { compute.effective == .int8 }

  /// Bytes read per product (the file's own).
  public var byteCount: Int { blocks.count }
}
