import CKernels
import Dispatch

/// A weight matrix `[rows × cols]` kept in a GGML block quantization, for products with few
/// activation rows (decoding), where reading the weights is what costs.
///
/// Rows are stored as `cols / 32` blocks with the scales unpacked to fp32 and the quantized
/// values in GGML's order. Products expand each block to fp32 in registers, so they equal a
/// product with the dequantized fp32 matrix up to summation order.
public struct QuantizedMatrix: Sendable {
  public enum Format: Sendable {
    /// d, m (fp16) and 16 bytes of nibbles a block; w = d·q + m.
    case q4_1
    /// d (fp16) and 32 signed bytes a block; w = d·q.
    case q8_0
    /// Two scales (d, m) and 32 unsigned bytes a block (no GGML format: Q5_1 repacked);
    /// w = d·q + m.
    case q8_1

    /// Bytes of a GGML block of this format (the two that files hold).
    var bytesPerBlock: Int { self == .q4_1 ? 20 : 34 }
    public var quantBytes: Int { self == .q4_1 ? 16 : 32 }
    public var scaleCount: Int { self == .q8_0 ? 1 : 2 }
    var code: Int32 {
      switch self {
      case .q4_1: Int32(PSR_Q4_1)
      case .q8_0: Int32(PSR_Q8_0)
      case .q8_1: Int32(PSR_Q8_1)
      }
    }
  }

  public let format: Format
  public let rows: Int
  public let cols: Int
  private(set) var scales: [Float]
  private(set) var quants: [UInt8]
  /// Whether products quantize the activations to 8 bits (``ComputePrecision``); `int8` on a CPU
  /// without the 8-bit products runs the fp32 ones.
  public var compute: ComputePrecision = .fp32

  /// Repacks GGML blocks: `parts` are tensors of the same width, stacked row-wise in order
  /// (a fused Q/K/V projection is its three tensors). `cols` must be a multiple of 32.
  public init(format: Format, cols: Int, parts: [(blocks: UnsafeRawBufferPointer, rows: Int)]) {
    precondition(cols % 32 == 0, "quantized rows must be whole 32-element blocks")
    precondition(
      format == .q4_1 || format == .q8_0, "no file holds \(format) blocks; repack them with init(format:rows:cols:scales:quants:)")
    self.format = format
    self.cols = cols
    rows = parts.reduce(0) { $0 + $1.rows }
    let blockCount = rows * cols / 32
    scales = []
    scales.reserveCapacity(blockCount * format.scaleCount)
    quants = []
    quants.reserveCapacity(blockCount * format.quantBytes)
    for part in parts {
      precondition(part.blocks.count == part.rows * cols / 32 * format.bytesPerBlock, "block data does not match the shape")
      let base = part.blocks.baseAddress!
      for b in 0..<(part.rows * cols / 32) {
        let block = base + b * format.bytesPerBlock
        for s in 0..<format.scaleCount {
          scales.append(Float(Float16(bitPattern: block.loadUnaligned(fromByteOffset: 2 * s, as: UInt16.self))))
        }
        let q = UnsafeRawBufferPointer(start: block + 2 * format.scaleCount, count: format.quantBytes)
        quants.append(contentsOf: q)
      }
    }
  }

  /// A matrix already in this type's layout: per 32-element block, `format.scaleCount` scales
  /// and `format.quantBytes` bytes, rows after rows (used to repack other block formats).
  public init(format: Format, rows: Int, cols: Int, scales: [Float], quants: [UInt8]) {
    precondition(cols % 32 == 0 && scales.count == rows * cols / 32 * format.scaleCount, "scales do not match the shape")
    precondition(quants.count == rows * cols / 32 * format.quantBytes, "quantized values do not match the shape")
    self.format = format
    self.rows = rows
    self.cols = cols
    self.scales = scales
    self.quants = quants
  }

  /// Whether this CPU runs the quantized kernels: every CPU does (AVX2 or AVX-512 where present,
  /// portable C elsewhere, aarch64 included). Kept so that callers need not change.
  public static var isSupported: Bool { true }

  /// `C[i·ldc + j] = A[m×cols] · selfᵀ + beta · C` for j < rows, with A dense row-major and
  /// `ldc` (default `rows`) the stride of C's rows. Requires `isSupported`; rows of the weight
  /// matrix are split over the cores. From `PackedRows.minimumRows` rows (on AVX-512) the product
  /// runs as panels on A packed once — `packed` where the caller has it, else packed here — with
  /// the same sums.
  public func multiply(
    m: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int? = nil, beta: Float = 0,
    packed: PackedRows? = nil
  ) {
    guard m > 0 else { return }
    // The 8-bit products take A quantized once (``Q8BlockRows``) instead of packed.
    let quantized = quantizesActivations ? Q8BlockRows(format: format, rows: m, cols: cols, a: a) : nil
    let packed = quantized == nil ? packed ?? PackedRows(rows: m, cols: cols, a: a) : nil
    let n = rows
    let ldc = ldc ?? n
    let k = cols
    let parts = n >= 256 ? 2 * max(1, Parallel.cores) : 1
    scales.withUnsafeBufferPointer { s in
      quants.withUnsafeBufferPointer { q in
        let sp = s.baseAddress!
        let qp = q.baseAddress!
        withExtendedLifetime((quantized, packed)) {
          Parallel.run(parts: parts) { p in
            let j0 = n * p / parts
            let j1 = n * (p + 1) / parts
            guard j0 < j1 else { return }
            if let quantized {
              let done = psr_quantized_q8_gemm_nt(
                format.code, Int32(m), Int32(k), quantized.pointer, qp, sp, c, ldc, beta, Int32(j0), Int32(j1))
              precondition(done != 0, "8-bit products ran on a CPU without them")
            } else {
              psr_quantized_gemm_nt(
                format.code, Int32(m), Int32(k), a, packed?.pointer(), packed?.bf16 == true ? 1 : 0, qp, sp, c, ldc,
                beta, Int32(j0), Int32(j1))
            }
          }
        }
      }
    }
  }

  /// Whether products run on 8-bit activations: `compute` is int8 and this CPU has the products.
  public var quantizesActivations: Bool { compute.effective == .int8 }

  /// Bytes held (scales and quantized values).
  public var byteCount: Int { scales.count * 4 + quants.count }
}
