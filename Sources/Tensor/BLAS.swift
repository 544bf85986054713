import CBLAS
import CKernels
import Dispatch

/// Matrix products on OpenBLAS `cblas_sgemm`, row-major throughout.
public enum BLAS {
  /// C[m×n] = alpha · A[m×k] · op(B) + beta · C, with op(B) = Bᵀ when `transposeB`
  /// (B stored n×k, the layout of a weight matrix `[out × in]`), else B (stored k×n).
  ///
  /// Leading dimensions default to the dense row widths; pass larger values to
  /// address a column block of a wider matrix (a head inside a packed Q/K/V row).
  ///
  /// With `bf16` (``ComputePrecision/bf16``, on a CPU that has the bf16 products) a product on the
  /// project's 512-bit kernels rounds both operands to bf16 and sums exact products in fp32; the
  /// products of few rows (m ≤ ``smallBatchLimit`` with a weight operand, or one row) stay fp32.
  @inlinable
  public static func gemm(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int? = nil,
    b: UnsafePointer<Float>, ldb: Int? = nil, transposeB: Bool,
    c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
    alpha: Float = 1, beta: Float = 0,
    transposeA: Bool = false, bf16: Bool = false
  ) {
    guard m > 0, n > 0 else { return }
    let lda = lda ?? (transposeA ? m : k)
    let ldb = ldb ?? (transposeB ? k : n)
    if m >= 2 && m <= smallBatchLimit && alpha == 1 && transposeB && !transposeA && lda == k && ldb == k && (ldc ?? n) == n && hasAVX2 {
      smallBatch(m: m, n: n, k: k, a: a, b: b, c: c, beta: beta)
      return
    }
    if m == 1 && !transposeA {
      // One row: a matrix-vector product streams the weights once, where sgemm (OpenBLAS
      // 0.3.21) would first copy them into its packed panel format.
      cblas_sgemv(
        CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans, Int32(transposeB ? n : k), Int32(transposeB ? k : n), alpha, b,
        Int32(ldb), a, 1, beta, c, 1)
      return
    }
    if k > 0 && PackedRows.isSupported
      && ownKernels(
        m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB, c: c, ldc: ldc ?? n, alpha: alpha,
        beta: beta, transposeA: transposeA, bf16: bf16 && ComputePrecision.bf16IsSupported)
    {
      return
    }
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc ?? n))
  }

  /// The number of threads OpenBLAS uses for one call.
  public static var threadCount: Int {
    get { Int(openblas_get_num_threads()) }
    set { openblas_set_num_threads(Int32(newValue)) }
  }

  /// Up to this many rows, products with a transposed (weight) operand use the small-batch
  /// kernel, which streams each weight row once instead of repacking the matrix.
  public static let smallBatchLimit = 32
  @usableFromInline static let hasAVX2 = psr_has_avx2_fma() != 0

  /// The product on the project's 512-bit kernels: products with a weight operand (A·Bᵀ) as
  /// panels of dot products, the rest as outer products on packed operands; split over the
  /// threads that `threadCount` allows. False, with nothing written, where the CPU lacks AVX-512
  /// or scratch memory is refused. Measured (2026-11-29, experiments/bench) about twice as fast as
  /// this machine's OpenBLAS 0.3.21, which runs its SSE3 kernel on this CPU.
  @usableFromInline
  static func ownKernels(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
    c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float, transposeA: Bool, bf16: Bool = false
  ) -> Bool {
    let threads = max(1, min(Parallel.cores, threadCount))
    // A·Bᵀ reads A packed once, for every part.
    let packed = transposeB && !transposeA ? PackedRows(rows: m, cols: k, a: a, lda: lda, minimumRows: 1, bf16: bf16) : nil
    // Columns in multiples of 32 (a panel or a tile's width), else rows in multiples of 12.
    let byColumns = n >= 64
    let parts = threads == 1 ? 1 : byColumns ? min(n / 32, 2 * threads) : min(max(1, m / 12), 2 * threads)
    func rows(_ p: Int) -> (Int, Int) {
      byColumns ? (0, m) : (p == 0 ? 0 : (m / 12) * p / parts * 12, p == parts - 1 ? m : (m / 12) * (p + 1) / parts * 12)
    }
    let done = UnsafeMutablePointer<Int32>.allocate(capacity: parts)
    defer { done.deallocate() }
    Parallel.run(parts: parts) { p in
      let (i0, i1) = rows(p)
      let (j0, j1) = byColumns ? (n * p / parts, n * (p + 1) / parts) : (0, n)
      if let packed {
        done[p] = psr_dense_gemm_nt(
          Int32(i1 - i0), Int32(k), packed.pointer(fromRow: i0), packed.bf16 ? 1 : 0, b, ldb, c + i0 * ldc, ldc, alpha,
          beta, Int32(j0), Int32(j1))
      } else {
        done[p] = psr_outer_gemm(
          transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(k), alpha, a, lda, b, ldb, beta, c, ldc, Int32(i0), Int32(i1),
          Int32(j0), Int32(j1), bf16 ? 1 : 0)
      }
    }
    if (0..<parts).allSatisfy({ done[$0] != 0 }) { return true }
    // Scratch was refused somewhere: OpenBLAS runs the parts that did not run.
    for p in 0..<parts where done[p] == 0 {
      let (i0, i1) = rows(p)
      let (j0, j1) = byColumns ? (n * p / parts, n * (p + 1) / parts) : (0, n)
      let aBlock = transposeA ? a + i0 : a + i0 * lda
      let bBlock = transposeB ? b + j0 * ldb : b + j0
      cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(i1 - i0),
        Int32(j1 - j0), Int32(k), alpha, aBlock, Int32(lda), bBlock, Int32(ldb), beta, c + i0 * ldc + j0, Int32(ldc))
    }
    return true
  }

  /// C = A·Bᵀ + beta·C for few rows of A, columns of C split over the cores.
  @usableFromInline
  static func smallBatch(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, beta: Float
  ) {
    let parts = n >= 256 ? 2 * max(1, Parallel.cores) : 1
    Parallel.run(parts: parts) { p in
      // Column ranges are multiples of 4, the kernel's block.
      let j0 = (n * p / parts) & ~3
      let j1 = p == parts - 1 ? n : (n * (p + 1) / parts) & ~3
      if j0 < j1 { psr_small_gemm_nt(Int32(m), Int32(n), Int32(k), a, b, c, beta, Int32(j0), Int32(j1)) }
    }
  }
}
