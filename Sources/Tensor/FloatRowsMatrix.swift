import CKernels

/// A weight matrix `[rows × cols]` stored as the file stores it, in fp32, fp16 or bf16 rows,
/// read where the file lies: a product of many rows converts 32 rows × 256 columns at a time,
/// exactly, into an fp32 panel in L1 and multiplies every activation row with it; a product of
/// few rows (``directRows``) converts each chunk in registers as it multiplies, with the same
/// bits. So no fp32 copy of the matrix exists and a decode step reads the file's 2 bytes a weight
/// once. Needs AVX-512 (`isSupported`).
///
/// Sendable by hand: `data` is read-only memory (a mapped file) that the owner keeps alive as
/// long as this value.
public struct FloatRowsMatrix: @unchecked Sendable {
  public enum Format: Sendable {
    case f32
    case f16
    case bf16

    var code: Int32 {
      switch self {
      case .f32: Int32(PSR_ROWS_F32)
      case .f16: Int32(PSR_ROWS_F16)
      case .bf16: Int32(PSR_ROWS_BF16)
      }
    }

    public var bytesPerElement: Int { self == .f32 ? 4 : 2 }
  }

  public static var isSupported: Bool { PackedRows.isSupported }

  /// Up to this many rows of A, products read the weight rows where they lie and convert them in
  /// registers (`psr_float_rows_gemv`); from one more, they expand panels of weights into L1 once
  /// for all rows. The two give the same bits, so a row's result does not depend on how many rows
  /// share its product. Below the quantized kernels' `PackedRows.minimumRows`: batch-16 decoding of
  /// a bf16 checkpoint measured 1.07–1.44× (fp32) and 1.03–1.33× (bf16) faster read directly than
  /// through panels (3 rounds, experiments/bench).
  public static let directRows = PackedRows.minimumRows - 1

  public let format: Format
  public let rows: Int
  public let cols: Int
  let data: UnsafeRawBufferPointer

  /// `data` holds exactly `rows` rows of `cols` elements, one after another.
  public init(format: Format, rows: Int, cols: Int, data: UnsafeRawBufferPointer) {
    precondition(cols > 0, "rows must hold elements")
    precondition(data.count == rows * cols * format.bytesPerElement, "row data does not match the shape")
    self.format = format
    self.rows = rows
    self.cols = cols
    self.data = data
  }

  /// `C[i·ldc + j] = A[m×cols] · selfᵀ + beta · C` for j < rows, with A dense row-major, A packed
  /// once (`packed` where the caller has it) and rows split over the cores. Requires
  /// `isSupported`.
  public func multiply(
    m: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int? = nil, beta: Float = 0,
    packed: PackedRows? = nil
  ) {
    guard m > 0, rows > 0 else { return }
    guard let packed = packed ?? PackedRows(rows: m, cols: cols, a: a, minimumRows: 1) else {
      preconditionFailure("FloatRowsMatrix needs AVX-512")
    }
    let n = rows
    let ldc = ldc ?? n
    let parts = n >= 64 ? min(n / 32, 2 * max(1, Parallel.cores)) : 1
    let base = data.baseAddress!
    let product = m <= Self.directRows ? psr_float_rows_gemv : psr_float_rows_gemm_nt
    Parallel.run(parts: parts) { p in
      let ran = product(
        format.code, Int32(m), Int32(cols), packed.pointer(), packed.bf16 ? 1 : 0, base, c, ldc, beta, Int32(n * p / parts),
        Int32(n * (p + 1) / parts))
      // Scratch of a few hundred kB refused: nothing sensible is left to do.
      precondition(ran != 0, "no memory for a product's scratch")
    }
  }
}
