import CKernels

/// Rows of activations packed for the 512-bit panel products: slivers of 6 rows, 16 columns a
/// chunk (32 in bf16), zero-padded, 64-byte aligned. A product packs its rows once and every
/// weight part and core reads them, however far apart the rows were.
public final class PackedRows: @unchecked Sendable {
  /// From this many rows the panel products run (the same sums as the decode kernels); below,
  /// the decode kernels measured faster: batch-16 decode of the default model 417–435 tok/s
  /// against 399 as panels (2026-11-29).
  public static let minimumRows = 24

  /// Whether this CPU runs the panel products (AVX-512 F, VL and BW).
  public static let isSupported = psr_panel_gemm_supported() != 0

  public let rows: Int
  public let cols: Int
  /// Whether the values are rounded to bf16, 32 a chunk (`ComputePrecision.bf16`): the products
  /// then run in bf16.
  public let bf16: Bool
  let storage: UnsafeMutableRawPointer

  /// Packs `rows` rows of `cols` floats at `a` (row stride `lda`, default `cols`), or nil where
  /// the panel products do not run (too few rows, or a CPU without AVX-512). With `bf16` (where
  /// the CPU has the bf16 products; else fp32) rounded to bf16 for the bf16 products.
  public init?(
    rows: Int, cols: Int, a: UnsafePointer<Float>, lda: Int? = nil, minimumRows: Int = PackedRows.minimumRows,
    bf16: Bool = false
  ) {
    guard Self.isSupported, rows >= max(1, minimumRows), cols > 0 else { return nil }
    self.rows = rows
    self.cols = cols
    let bf16 = bf16 && ComputePrecision.bf16IsSupported
    self.bf16 = bf16
    let floats = bf16 ? psr_packed_rows_bf16_floats(Int32(rows), Int32(cols)) : psr_packed_rows_floats(Int32(rows), Int32(cols))
    storage = UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64)
    let out = storage.assumingMemoryBound(to: Float.self)
    let slivers = (rows + 5) / 6
    let parts = slivers >= 16 ? min(2 * Parallel.cores, slivers / 8) : 1
    let lda = lda ?? cols
    Parallel.run(parts: parts) { p in
      (bf16 ? psr_pack_rows_bf16 : psr_pack_rows)(
        a, lda, Int32(rows), Int32(cols), Int32(slivers * p / parts), Int32(slivers * (p + 1) / parts), out)
    }
  }

  deinit { storage.deallocate() }

  /// The packed floats, from row `first` (a multiple of 6) on.
  public func pointer(fromRow first: Int = 0) -> UnsafePointer<Float> {
    precondition(first % 6 == 0 && first <= rows, "packed rows start at multiples of 6")
    // A chunk is 64 bytes: 16 floats or 32 bf16.
    let chunks = bf16 ? (cols + 31) / 32 : (cols + 15) / 16
    return UnsafePointer(storage.assumingMemoryBound(to: Float.self)) + first / 6 * chunks * 6 * 16
  }
}
