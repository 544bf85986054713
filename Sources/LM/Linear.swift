import Foundation
import Tensor

/// How a model holds its projection weights.
public enum WeightPrecision: String, Codable, Sendable, CaseIterable {
  /// An fp32 copy of every matrix, 4 bytes a parameter (forward products of a quantized file
  /// still run on its blocks).
  case fp32
  /// The file's own blocks (quantized, bf16, f16), memory-mapped; products expand them where they
  /// are used (registers, L1 panels, or blocks of rows in a reused scratch for gradients), so
  /// memory stays near the file's size.
  case native

  /// Native products that expand blocks of rows into scratch (input gradients, and forward
  /// products of float rows on a CPU without AVX-512) expand at most this many weight floats at a
  /// time (16 MB); a smaller value splits even small matrices into several blocks, which tests use.
  nonisolated(unsafe) public static var expansionFloats = 4 << 20

  /// Native where the CPU runs the panel products (AVX-512): the default model measured as fast
  /// native as with fp32 copies at half the memory (2026-11-29, experiments/bench: prefill 726
  /// against 688 tok/s, sv-train 383 against 376, capture 295 against 290, peak RSS 576 against
  /// 1082 MB). Elsewhere fp32 up to a billion parameters (a 4 GB copy), native beyond.
  public static func automatic(parameterCount: Int) -> WeightPrecision {
    automatic(parameterCount: parameterCount, panels: PackedRows.isSupported)
  }

  /// The rule, for a CPU with (`panels`) or without the panel products.
  public static func automatic(parameterCount: Int, panels: Bool) -> WeightPrecision {
    panels || parameterCount > 1_000_000_000 ? .native : .fp32
  }
}

/// A projection `y = x · Wᵀ` with `W` stored `[out × in]`: either as fp32 or as the file's rows
/// (`native`), plus, when the file holds quantized blocks, a decode kernel over them for products
/// with few rows (decoding), which are bound by reading the weights.
///
/// Sendable by hand: every property is a constant, and `parts` point into a read-only mapping
/// that the model's tensor source keeps alive as long as the model.
struct Linear: @unchecked Sendable {
  /// The fp32 weights, `[out × in]` row-major, or nil where the file's rows are used.
  let dense: [Float]?
  /// The file's rows, part by part (mapped memory that the model's source keeps alive).
  let parts: [(data: UnsafeRawBufferPointer, type: GGMLType, rows: Int)]
  /// Decode kernels covering W's rows in order (one per part, or one for all parts of a
  /// repacked type), or nil where a part's type has none.
  let kernels: [RowKernel]?
  let outputs: Int
  let inputs: Int
  /// Whether products of many rows run in bf16 (``ComputePrecision/bf16``, where the CPU has it).
  let bf16: Bool
  /// Whether the input gradient (`applyTransposed`) runs in bf16
  /// (``ComputePrecision/inputGradient(quantizedWeights:)``: at `bf16`, and at `int8` for quantized weights).
  let backwardBF16: Bool
  /// At `int8`, the same kernels on the same weights with bf16 products (fp32 on a CPU without
  /// AVX512_BF16), for the products of a gradient pass whose 8-bit inputs would set the steering
  /// gradient's error (``ComputePrecision/gradientPass``); nil at every other precision.
  let gradientPassKernels: [RowKernel]?

  /// `C[m × out] = A[m × in] · Wᵀ + beta · C`: through the block kernels where the weights are
  /// quantized (a row's result never depends on the others: from `PackedRows.minimumRows` rows
  /// the kernels run as panels on A packed once here for every part, with the decode kernels'
  /// sums), else on fp32 weights or on rows expanded from the file's floats.
  ///
  /// With `gradientPass` (q/k/v and down in a pass that training differentiates), an `int8`
  /// projection of quantized weights runs ``gradientPassKernels`` instead: see
  /// ``ComputePrecision/gradientPass``.
  func apply(m: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, beta: Float = 0, gradientPass: Bool = false) {
    if gradientPass, let kernels = gradientPassKernels {
      Self.multiply(kernels, m: m, k: inputs, a: a, c: c, ldc: outputs, beta: beta, bf16: ComputePrecision.gradientPass == .bf16)
    } else if let kernels, kernels.count > 1, let fused = RowKernel.quantizedSuperBlocks(kernels) {
      SuperBlockMatrix.multiplyQuantized(fused, m: m, a: a, c: c, ldc: outputs, beta: beta)
    } else if let kernels {
      Self.multiply(kernels, m: m, k: inputs, a: a, c: c, ldc: outputs, beta: beta, bf16: bf16)
    } else if let dense {
      BLAS.gemm(m: m, n: outputs, k: inputs, a: a, b: dense, transposeB: true, c: c, beta: beta, bf16: bf16)
    } else {
      forEachExpandedBlock { rows, w in
        BLAS.gemm(
          m: m, n: rows.count, k: inputs, a: a, b: w, transposeB: true, c: c + rows.lowerBound, ldc: outputs, beta: beta,
          bf16: bf16)
      }
    }
  }

  /// `C = A[m × k] · Wᵀ + beta · C` through `kernels`, covering W's rows in order, on A packed once for all of them.
  private static func multiply(
    _ kernels: [RowKernel], m: Int, k: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float,
    bf16: Bool
  ) {
    let packed = PackedRows(rows: m, cols: k, a: a, minimumRows: kernels.map(\.panelRows).min()!, bf16: bf16)
    var column = 0
    for kernel in kernels {
      kernel.multiply(m: m, a: a, c: c + column, ldc: ldc, beta: beta, packed: packed)
      column += kernel.rows
    }
  }

  /// `C[m × in] = G[m × out] · W + beta · C`: the gradient with respect to the input.
  func applyTransposed(m: Int, g: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, beta: Float = 0) {
    if let dense {
      BLAS.gemm(m: m, n: inputs, k: outputs, a: g, b: dense, transposeB: false, c: c, beta: beta, bf16: backwardBF16)
    } else {
      var first = true
      forEachExpandedBlock { rows, w in
        BLAS.gemm(
          m: m, n: inputs, k: rows.count, a: g + rows.lowerBound, lda: outputs, b: w, transposeB: false, c: c,
          beta: first ? beta : 1, bf16: backwardBF16)
        first = false
      }
    }
  }

  func apply(_ a: Matrix, into c: inout Matrix, beta: Float = 0, gradientPass: Bool = false) {
    precondition(a.cols == inputs && c.cols == outputs && a.rows == c.rows, "projection shapes do not match")
    a.storage.withUnsafeBufferPointer { ap in
      c.storage.withUnsafeMutableBufferPointer { cp in
        apply(m: a.rows, a: ap.baseAddress!, c: cp.baseAddress!, beta: beta, gradientPass: gradientPass)
      }
    }
  }

  func applyTransposed(_ g: Matrix, into c: inout Matrix, beta: Float = 0) {
    precondition(g.cols == outputs && c.cols == inputs && g.rows == c.rows, "projection shapes do not match")
    g.storage.withUnsafeBufferPointer { gp in
      c.storage.withUnsafeMutableBufferPointer { cp in
        applyTransposed(m: g.rows, g: gp.baseAddress!, c: cp.baseAddress!, beta: beta)
      }
    }
  }

  /// Row `r` of W (fp32), e.g. a token's embedding.
  func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
    if let dense {
      dense.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + r * inputs, count: inputs) }
      return
    }
    var start = 0
    for part in parts {
      if r < start + part.rows {
        let rowBytes = inputs / part.type.blockSize * part.type.blockBytes
        Dequantize.decode(part.type, from: part.data.baseAddress! + (r - start) * rowBytes, count: inputs, into: out)
        return
      }
      start += part.rows
    }
  }

  /// Calls `body` with consecutive blocks of W's rows expanded to fp32 (a block never spans two
  /// parts), in order; the expansion is split over the cores.
  private func forEachExpandedBlock(_ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
    let blockRows = max(1, min(outputs, WeightPrecision.expansionFloats / max(1, inputs)))
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * inputs)
    defer { scratch.deallocate() }
    var start = 0
    for part in parts {
      let rowBytes = inputs / part.type.blockSize * part.type.blockBytes
      // K-quant rows expand with 512-bit vectors where the CPU has them (the same values).
      let superBlocks = RowKernel.superBlockFormat(part.type).flatMap { format in
        inputs % 256 == 0 ? SuperBlockMatrix(format: format, rows: part.rows, cols: inputs, blocks: part.data) : nil
      }
      for r0 in stride(from: 0, to: part.rows, by: blockRows) {
        let count = min(blockRows, part.rows - r0)
        let pieces = min(count, 2 * max(1, Parallel.cores))
        Parallel.perform(pieces) { p in
          let lo = count * p / pieces
          let hi = count * (p + 1) / pieces
          if let superBlocks, superBlocks.expand(rows: (r0 + lo)..<(r0 + hi), into: scratch + lo * inputs) { return }
          Dequantize.decode(
            part.type, from: part.data.baseAddress! + (r0 + lo) * rowBytes, count: (hi - lo) * inputs,
            into: scratch + lo * inputs)
        }
        body((start + r0)..<(start + r0 + count), scratch)
      }
      start += part.rows
    }
  }
}

extension Linear {
  /// Loads the named tensors (each `[in, out_i]` in GGUF order) stacked row-wise into one
  /// projection, as fp32 or at the file's precision, with decode kernels over the quantized
  /// rows (`RowKernel`).
  init(gguf: some TensorSource, _ parts: [(name: String, outputs: Int)], inputs: Int, precision: WeightPrecision = .fp32,
    compute: ComputePrecision = .fp32
  ) throws {
    var infos: [GGUFTensorInfo] = []
    for part in parts {
      let info = try gguf.tensor(part.name)
      guard info.dimensions == [inputs, part.outputs] else {
        throw ModelError.tensorShape(name: part.name, found: info.dimensions, expected: [inputs, part.outputs])
      }
      infos.append(info)
    }
    self.dense = precision == .fp32 ? infos.flatMap { gguf.dequantize($0) } : nil
    self.parts = zip(infos, parts).map { (gguf.tensorData($0), $0.type, $1.outputs) }
    self.inputs = inputs
    self.outputs = parts.reduce(0) { $0 + $1.outputs }
    bf16 = compute.effective == .bf16
    kernels = RowKernel.covering(self.parts, cols: inputs, floats: dense == nil, compute: compute)
    backwardBF16 = Self.backwardInBF16(compute: compute, parts: self.parts)
    gradientPassKernels = Self.gradientPassKernels(kernels, compute: compute)
  }
}

extension Linear {
  /// Rows `first ..< first + rows` of each tensor, stacked: one expert of llama.cpp's stacked
  /// expert tensors (whose rows are `experts × out` rows of `in` values, whole blocks each).
  init(
    source: some TensorSource, slices: [(info: GGUFTensorInfo, first: Int, rows: Int)], inputs: Int,
    precision: WeightPrecision = .fp32, compute: ComputePrecision = .fp32
  ) {
    let parts = slices.map { slice -> (data: UnsafeRawBufferPointer, type: GGMLType, rows: Int) in
      let rowBytes = inputs / slice.info.type.blockSize * slice.info.type.blockBytes
      let all = source.tensorData(slice.info)
      return (UnsafeRawBufferPointer(rebasing: all[(slice.first * rowBytes)..<((slice.first + slice.rows) * rowBytes)]), slice.info.type, slice.rows)
    }
    dense =
      precision == .fp32
      ? parts.flatMap { part in
        [Float](unsafeUninitializedCapacity: part.rows * inputs) { buffer, initialized in
          Dequantize.decode(part.type, from: part.data.baseAddress!, count: part.rows * inputs, into: buffer.baseAddress!)
          initialized = part.rows * inputs
        }
      } : nil
    self.parts = parts
    self.inputs = inputs
    outputs = slices.reduce(0) { $0 + $1.rows }
    bf16 = compute.effective == .bf16
    kernels = RowKernel.covering(parts, cols: inputs, floats: dense == nil, compute: compute)
    backwardBF16 = Self.backwardInBF16(compute: compute, parts: parts)
    gradientPassKernels = Self.gradientPassKernels(kernels, compute: compute)
  }

  /// ``backwardBF16`` for the file's `parts` at `compute`. Decided by the file's weight type, not
  /// by how the weights are held: an fp32 copy of quantized weights (`--weights fp32`) runs the
  /// same forward on the file's blocks, so it runs the same input gradients as `native` too.
  static func backwardInBF16(
    compute: ComputePrecision, parts: [(data: UnsafeRawBufferPointer, type: GGMLType, rows: Int)]
  ) -> Bool {
    compute.inputGradient(quantizedWeights: parts.allSatisfy { $0.type.blockSize > 1 }) == .bf16
  }

  /// ``gradientPassKernels`` for `kernels` at `compute`: copies that share the weights (the
  /// repacked blocks are copy-on-write arrays never written, the K-quant rows the file's mapping).
  /// None where no kernel has 8-bit products to replace: float rows run fp32 at int8 in every pass.
  static func gradientPassKernels(_ kernels: [RowKernel]?, compute: ComputePrecision) -> [RowKernel]? {
    guard compute.effective == .int8, let kernels, kernels.contains(where: \.quantizesActivations) else { return nil }
    return kernels.map { $0.computing(ComputePrecision.gradientPass) }
  }
}
