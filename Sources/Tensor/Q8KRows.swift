import CKernels

/// Rows of activations quantized to 8 bits per 256 values, as llama.cpp's `q8_K` (the input of
/// the 8-bit K-quant products): per block, `d = −max/127` where `max` is the first value of
/// largest magnitude, `a_t = round_half_even(x_t / d)` clamped to ±127, and the sums that the
/// weights' offsets multiply. Below 16 rows each block is 384 bytes, its values stored in the order
/// of the weight format they will multiply (so that the products load whole vectors); from 16 rows,
/// groups of 16 rows interleave their values four bytes a row (psr_q8k_rows_bytes).
public final class Q8KRows: @unchecked Sendable {
  public let format: SuperBlockMatrix.Format
  public let rows: Int
  public let cols: Int
  let storage: UnsafeMutableRawPointer

  /// Quantizes `a` (`rows × cols`, `cols` a multiple of 256) for products with `format`'s weights;
  /// many rows are split over the cores.
  public init(format: SuperBlockMatrix.Format, rows: Int, cols: Int, a: UnsafePointer<Float>) {
    precondition(cols > 0 && cols % 256 == 0, "q8_K rows are whole 256-value blocks")
    self.format = format
    self.rows = rows
    self.cols = cols
    storage = UnsafeMutableRawPointer.allocate(
      byteCount: max(1, psr_q8k_rows_bytes(Int32(rows), Int32(cols))), alignment: 64)
    let code = format.code
    // Whole groups to each thread, so that no two write the same group.
    let grain = Int(psr_q8k_row_grain(Int32(rows)))
    Parallel.rows((rows + grain - 1) / grain) { lo, hi in
      psr_quantize_rows_q8k(
        code, Int32(rows), Int32(cols), a, storage, Int32(lo * grain), Int32(min(rows, hi * grain)))
    }
  }

  deinit { storage.deallocate() }

  /// Block `index` of row `row`: its scale, its values in natural order, and its 16 stored sums
  /// (Q4_K, Q5_K: of each 32 values, then 8 zeros; Q6_K: of each 16).
  public func block(row: Int, index: Int) -> (scale: Float, values: [Int8], sums: [Int16]) {
    var scale: Float = 0
    var values = [Int8](repeating: 0, count: 256)
    var sums = [Int16](repeating: 0, count: 16)
    psr_q8k_read_block(
      storage, Int32(rows), Int32(cols), Int32(row), Int32(index), format.code, &scale, &values, &sums)
    return (scale, values, sums)
  }

  var pointer: UnsafeRawPointer { UnsafeRawPointer(storage) }
}
