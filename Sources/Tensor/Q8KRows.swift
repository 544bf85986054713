import CKernels

/// Rows of activations quantized to 8 bits per 256 values, as llama.cpp's `q8_K` (the input of
/// the 8-bit K-quant products): per block, `d = −max/127` where `max` is the first value of
/// largest magnitude, `a_t = round_half_even(x_t / d)` clamped to ±127, and the sums of each 16
/// values. Each block is 384 bytes, its values stored in the order of the weight format they will
/// multiply (so that the products load whole vectors).
public final class Q8KRows: @unchecked Sendable {
  public let format: SuperBlockMatrix.Format
  public let rows: Int
  public let cols: Int
  let storage: UnsafeMutableRawPointer
  static let blockBytes = psr_q8k_rows_bytes(1, 256)

  /// Quantizes `a` (`rows × cols`, `cols` a multiple of 256) for products with `format`'s weights;
  /// many rows are split over the cores.
  public init(format: SuperBlockMatrix.Format, rows: Int, cols: Int, a: UnsafePointer<Float>) {
    precondition(cols > 0 && cols % 256 == 0, "q8_K rows are whole 256-value blocks")
    self.format = format
    self.rows = rows
    self.cols = cols
    let rowBytes = (cols / 256) * Self.blockBytes
    storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * rowBytes), alignment: 64)
    let code = format.code
    Parallel.rows(rows) { lo, hi in
      psr_quantize_rows_q8k(code, Int32(hi - lo), Int32(cols), a + lo * cols, storage + lo * rowBytes)
    }
  }

  deinit { storage.deallocate() }

  /// Block `index` of row `row`: its scale, its values in natural order, and its 16 group sums.
  public func block(row: Int, index: Int) -> (scale: Float, values: [Int8], sums: [Int16]) {
    var scale: Float = 0
    var values = [Int8](repeating: 0, count: 256)
    var sums = [Int16](repeating: 0, count: 16)
    psr_q8k_read_block(storage, row * (cols / 256) + index, format.code, &scale, &values, &sums)
    return (scale, values, sums)
  }

  var pointer: UnsafeRawPointer { UnsafeRawPointer(storage) }
}
