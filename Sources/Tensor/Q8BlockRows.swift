import CKernels

/// Rows of activations quantized to 8 bits per 32 values, as llama.cpp's `q8_0` and `q8_1` (the
/// input of the 8-bit products of ``QuantizedMatrix``): per block, `dx = max/127` where `max` is
/// the largest magnitude, `a_t = round_half_even(x_t / dx)` clamped to ±127, and `dx·Σa`, all in
/// fp32 (llama.cpp rounds `dx` and `dx·Σa` to fp16). Values are stored in the order of the weight
/// format they will multiply, two blocks to a 64-byte vector.
public final class Q8BlockRows: @unchecked Sendable {
  public let format: QuantizedMatrix.Format
  public let rows: Int
  public let cols: Int
  let storage: UnsafeMutableRawPointer

  /// Quantizes `a` (`rows × cols`, `cols` a multiple of 32) for products with `format`'s weights;
  /// many rows are split over the cores.
  public init(format: QuantizedMatrix.Format, rows: Int, cols: Int, a: UnsafePointer<Float>) {
    precondition(cols > 0 && cols % 32 == 0, "q8 block rows are whole 32-value blocks")
    self.format = format
    self.rows = rows
    self.cols = cols
    let rowBytes = psr_q8b_rows_bytes(1, Int32(cols))
    storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * rowBytes), alignment: 64)
    let code = format.code
    Parallel.rows(rows) { lo, hi in
      psr_quantize_rows_q8b(code, Int32(hi - lo), Int32(cols), a + lo * cols, storage + lo * rowBytes)
    }
  }

  deinit { storage.deallocate() }

  /// Block `index` of row `row`: its scale, `scale·Σa`, and its values in natural order.
  public func block(row: Int, index: Int) -> (scale: Float, sum: Float, values: [Int8]) {
    var scale: Float = 0
    var sum: Float = 0
    var values = [Int8](repeating: 0, count: 32)
    psr_q8b_read_block(storage, Int32(cols), row, Int32(index), format.code, &scale, &sum, &values)
    return (scale, sum, values)
  }

  var pointer: UnsafeRawPointer { UnsafeRawPointer(storage) }
}
