import Foundation
import Tensor

/// What attention keeps for its backward.
struct AttentionSaved {
  /// The q, k, v rows before the per-head norms (families with q/k norms only).
  var projected: Matrix?
  /// The q, k, v rows after the norms and RoPE: what the scores multiplied.
  var positioned: Matrix
  var probabilities: AttentionProbabilities
}

/// A layer's attention probabilities: per chunk and query head, one m × total row-major block
/// (m new rows, total = the keys they see, past included; entries a row does not see are 0).
/// One buffer from the trace's arena, which the forward's tasks write in place and the
/// backward reads.
struct AttentionProbabilities {
  let headCount: Int
  private let rows: [Int]
  private let totals: [Int]
  private let offsets: [Int]
  private let base: UnsafeMutablePointer<Float>

  init(arena: ScratchArena, shapes: [(rows: Int, total: Int)], headCount: Int) {
    self.headCount = headCount
    rows = shapes.map(\.rows)
    totals = shapes.map(\.total)
    var offsets = [0]
    for s in shapes { offsets.append(offsets.last! + headCount * s.rows * s.total) }
    self.offsets = offsets
    base = arena.floats(offsets.last!)
  }

  /// The block of chunk `chunk`, query head `head`.
  func pointer(chunk: Int, head: Int) -> UnsafeMutablePointer<Float> {
    base + offsets[chunk] + head * rows[chunk] * totals[chunk]
  }
}

extension DecoderModel {
  /// Query rows per causal block of prefill attention.
  static let attentionBlock = 64

  /// The oldest key position that the query at `query` sees: 0, or the window's start.
  @inline(__always)
  static func firstVisibleKey(query: Int, window: Int?) -> Int {
    guard let window else { return 0 }
    return max(0, query - window + 1)
  }

  /// Soft-capping c·tanh(s/c), or s without a cap.
  @inline(__always)
  static func cap(_ s: Float, _ softcap: Float?) -> Float {
    guard let softcap else { return s }
    return softcap * tanhf(s / softcap)
  }

  /// Causal grouped-query attention of each chunk's new tokens over its cache, per chunk and
  /// query head: O = P·V, P = softmax(cap(s·Q·Kᵀ)) over the keys each row sees. Stores the new
  /// keys and values in the caches. With `saved`, writes P there for the backward.
  func attention(
    _ l: Int, qkv: Matrix, batch: PackedBatch, chunks: [ForwardChunk], output: inout Matrix,
    saved: AttentionProbabilities?
  ) {
    if batch.rows == chunks.count && Kernels.hasSIMD {
      storeKeysValues(l, qkv: qkv, batch: batch, chunks: chunks)
      decodeAttention(l, qkv: qkv, chunks: chunks, output: &output, saved: saved)
      return
    }
    let c = configuration
    let hd = c.headDimension
    let kv = c.keyValueDimension
    let qkvWidth = c.queryDimension + 2 * kv
    let scale = c.attentionScale
    let softcap = c.attentionSoftcap
    let window = c.window(layer: l)
    let outWidth = c.queryDimension
    let views = keyValueViews(l, qkv: qkv, batch: batch, chunks: chunks)
    qkv.withPointers(&output) { q, out in
      let work = { (task: Int) in
        let ci = task / c.headCount
        let h = task % c.headCount
        let view = views[ci]
        let rows = batch.chunkRanges[ci]
        let m = rows.count
        // Positions from here on are the view's: a sliding layer's starts after the keys its
        // window has left behind.
        let past = view.past
        let total = past + m
        let kvHead = h / c.groupSize
        // Untraced, each task has its own buffer: all heads' at once would be heads × m² floats.
        var own = saved == nil ? [Float](repeating: 0, count: m * total) : []
        own.withUnsafeMutableBufferPointer { ownBuffer in
          let s = saved?.pointer(chunk: ci, head: h) ?? ownBuffer.baseAddress!
          view.keys.withUnsafeBufferPointer { keys in
            view.values.withUnsafeBufferPointer { values in
              let qBase = q + rows.lowerBound * qkvWidth + h * hd
              let kBase = keys.baseAddress! + kvHead * hd
              let vBase = values.baseAddress! + kvHead * hd
              let oBase = out + rows.lowerBound * outWidth + h * hd
              if m == 1 {
                let first = Self.firstVisibleKey(query: total - 1, window: window)
                for j in 0..<total { s[j] = first <= j ? Self.cap(scale * Kernels.dot(qBase, kBase + j * kv, count: hd), softcap) : 0 }
                Kernels.softmax(s + first, count: total - first)
                for i in 0..<hd { oBase[i] = 0 }
                for j in first..<total { Kernels.axpy(s[j], vBase + j * kv, oBase, count: hd) }
                return
              }
              // Causal blocks of query rows: block [i0, i1) sees keys 0..<past + i1 only, so the
              // masked upper triangle is neither multiplied nor exponentiated. Keys before a
              // sliding window are zeroed after the product.
              for i0 in stride(from: 0, to: m, by: Self.attentionBlock) {
                let i1 = min(m, i0 + Self.attentionBlock)
                let keysSeen = past + i1
                BLAS.gemm(
                  m: i1 - i0, n: keysSeen, k: hd, a: qBase + i0 * qkvWidth, lda: qkvWidth, b: kBase, ldb: kv,
                  transposeB: true, c: s + i0 * total, ldc: total, alpha: scale)
                for i in i0..<i1 {
                  let row = s + i * total
                  let first = Self.firstVisibleKey(query: past + i, window: window)
                  if let softcap { for j in first...(past + i) { row[j] = Self.cap(row[j], softcap) } }
                  for j in 0..<first { row[j] = 0 }
                  Kernels.softmax(row + first, count: past + i + 1 - first)
                  for j in (past + i + 1)..<keysSeen { row[j] = 0 }
                }
                BLAS.gemm(
                  m: i1 - i0, n: hd, k: keysSeen, a: s + i0 * total, lda: total, b: vBase, ldb: kv, transposeB: false,
                  c: oBase + i0 * outWidth, ldc: outWidth)
              }
            }
          }
        }
      }
      let tasks = chunks.count * c.headCount
      if batch.rows == chunks.count {
        // Decoding without the SIMD kernel: one query per sequence, many small tasks without BLAS.
        Parallel.perform(tasks, work)
      } else {
        // Prefill: the tasks' products are too small for OpenBLAS's threading to pay, so they
        // run single-threaded, one task per core.
        let threads = BLAS.threadCount
        BLAS.threadCount = 1
        Parallel.perform(tasks, work)
        BLAS.threadCount = threads
      }
    }
  }

  /// dL/d(positioned q, k, v) from dL/d(attention output), per sequence and head:
  /// dV += Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = s·dS·K, dK += s·dSᵀ·Q
  /// (with a soft-cap, dS is further times 1 − tanh²(z/c), z = s·Q·Kᵀ recomputed).
  /// Assumes each sequence was run from position 0 (no cached past), as teacher forcing is.
  func attentionBackward(saved: AttentionSaved, batch: PackedBatch, gradAttended: Matrix) -> Matrix {
    let c = configuration
    let hd = c.headDimension
    let kv = c.keyValueDimension
    let qkvWidth = c.queryDimension + 2 * kv
    let scale = c.attentionScale
    let longest = batch.chunkRanges.map(\.count).max() ?? 0
    let arena = ScratchArena()
    let dp = arena.floats(longest * longest)
    let z = c.attentionSoftcap == nil ? nil : arena.floats(longest * longest)
    var gradQKV = Matrix(rows: gradAttended.rows, cols: qkvWidth)
    saved.positioned.withPointers(gradAttended, &gradQKV) { qkv, dOut, dqkv in
      for (ci, rows) in batch.chunkRanges.enumerated() {
        let m = rows.count
        for h in 0..<c.headCount {
          let kvHead = h / c.groupSize
          let p = saved.probabilities.pointer(chunk: ci, head: h)
          let base = rows.lowerBound * qkvWidth
          let q = qkv + base + h * hd
          let k = qkv + base + c.queryDimension + kvHead * hd
          let v = k + kv
          let dO = dOut + rows.lowerBound * c.queryDimension + h * hd
          let dQ = dqkv + base + h * hd
          let dK = dqkv + base + c.queryDimension + kvHead * hd
          let dV = dK + kv
          BLAS.gemm(
            m: m, n: hd, k: m, a: p, b: dO, ldb: c.queryDimension, transposeB: false, c: dV, ldc: qkvWidth, beta: 1,
            transposeA: true)
          BLAS.gemm(m: m, n: m, k: hd, a: dO, lda: c.queryDimension, b: v, ldb: qkvWidth, transposeB: true, c: dp)
          for i in 0..<m {
            let pr = p + i * m
            let dr = dp + i * m
            let dot = Kernels.dot(pr, dr, count: i + 1)
            for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
            for j in (i + 1)..<m { dr[j] = 0 }
          }
          if let cap = c.attentionSoftcap, let z {
            // s = c·tanh(z/c): dz = ds · (1 − tanh²(z/c)).
            BLAS.gemm(m: m, n: m, k: hd, a: q, lda: qkvWidth, b: k, ldb: qkvWidth, transposeB: true, c: z, alpha: scale)
            for i in 0..<(m * m) {
              let t = tanhf(z[i] / cap)
              dp[i] *= 1 - t * t
            }
          }
          BLAS.gemm(m: m, n: hd, k: m, a: dp, b: k, ldb: qkvWidth, transposeB: false, c: dQ, ldc: qkvWidth, alpha: scale)
          BLAS.gemm(
            m: m, n: hd, k: m, a: dp, b: q, ldb: qkvWidth, transposeB: false, c: dK, ldc: qkvWidth, alpha: scale, beta: 1,
            transposeA: true)
        }
      }
    }
    return gradQKV
  }
}
