import Tensor

/// A projection `y = x · Wᵀ` with `W` stored `[out × in]`: fp32 for large products (prefill,
/// training, backward) and, when the file holds it block-quantized, the quantized blocks for
/// products with few rows (decoding), which are bound by reading the weights.
struct Linear: Sendable {
  /// The fp32 weights, `[out × in]` row-major.
  let dense: [Float]
  let quantized: QuantizedMatrix?
  let outputs: Int
  let inputs: Int

  /// Up to this many rows go through the quantized kernel: it reads the weights once per
  /// call at a quarter to a seventh of the fp32 bytes; past it, sgemm's blocking wins.
  static let quantizedRowLimit = 64

  /// `C[m × out] = A[m × in] · Wᵀ + beta · C`.
  func apply(m: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, beta: Float = 0) {
    if let quantized, m <= Self.quantizedRowLimit {
      quantized.multiply(m: m, a: a, c: c, beta: beta)
    } else {
      BLAS.gemm(m: m, n: outputs, k: inputs, a: a, b: dense, transposeB: true, c: c, beta: beta)
    }
  }

  func apply(_ a: Matrix, into c: inout Matrix, beta: Float = 0) {
    precondition(a.cols == inputs && c.cols == outputs && a.rows == c.rows, "projection shapes do not match")
    a.storage.withUnsafeBufferPointer { ap in
      c.storage.withUnsafeMutableBufferPointer { cp in
        apply(m: a.rows, a: ap.baseAddress!, c: cp.baseAddress!, beta: beta)
      }
    }
  }
}

extension Linear {
  /// Loads the named tensors (each `[in, out_i]` in GGUF order) stacked row-wise into one
  /// projection; keeps the quantized blocks when all parts share a kernel-supported format.
  init(gguf: some TensorSource, _ parts: [(name: String, outputs: Int)], inputs: Int) throws {
    var dense: [Float] = []
    var infos: [GGUFTensorInfo] = []
    for part in parts {
      let info = try gguf.tensor(part.name)
      guard info.dimensions == [inputs, part.outputs] else {
        throw ModelError.tensorShape(name: part.name, found: info.dimensions, expected: [inputs, part.outputs])
      }
      dense += gguf.dequantize(info)
      infos.append(info)
    }
    self.dense = dense
    self.inputs = inputs
    self.outputs = parts.reduce(0) { $0 + $1.outputs }
    let formats = Set(infos.map(\.type))
    if QuantizedMatrix.isSupported, formats.count == 1, inputs % 32 == 0,
      let format: QuantizedMatrix.Format = formats.first == .q4_1 ? .q4_1 : formats.first == .q8_0 ? .q8_0 : nil
    {
      quantized = QuantizedMatrix(
        format: format, cols: inputs, parts: zip(infos, parts).map { (gguf.tensorData($0), $1.outputs) })
    } else {
      quantized = nil
    }
  }
}
