import Tensor

/// The step between the q/k/v projection and the scores: per-head RMSNorms of the queries and
/// keys (families with q/k norms), then RoPE at each row's position. Values pass unchanged.
/// RoPE is a rotation, so its backward is the inverse rotation; the norms' backward needs the
/// rows before them, which the forward saves as `AttentionSaved.projected`.
extension DecoderModel {
  /// Forward, in place on every packed row of `qkv`.
  func positionQueriesKeys(_ l: Int, _ qkv: inout Matrix, batch: PackedBatch) {
    let c = configuration
    let w = weights.blocks[l]
    let qkvWidth = qkv.cols
    let n = qkv.rows
    // Each chunk's table, chosen once per layer rather than per row.
    let tables = batch.sequenceEnds.map { ropes.rope(layer: l, sequenceEnd: $0) }
    qkv.storage.withUnsafeMutableBufferPointer { buffer in
      let p = buffer.baseAddress!
      Parallel.rows(n) { rows in
        for r in rows {
          let row = p + r * qkvWidth
          if let qn = w.queryNorm, let kn = w.keyNorm {
            Kernels.rmsNorm(row, weight: qn, epsilon: c.rmsNormEpsilon, rows: c.headCount, width: c.headDimension, output: row)
            let k = row + c.queryDimension
            Kernels.rmsNorm(k, weight: kn, epsilon: c.rmsNormEpsilon, rows: c.keyValueHeadCount, width: c.headDimension, output: k)
          }
          let slot = batch.slots[r]
          let rope = tables[slot.sequence]
          rope.apply(row, heads: c.headCount, position: slot.position)
          rope.apply(row + c.queryDimension, heads: c.keyValueHeadCount, position: slot.position)
        }
      }
    }
  }

  /// Backward, in place: dL/d(positioned q, k, v) becomes dL/d(projected q, k, v).
  func positionQueriesKeysBackward(_ l: Int, _ gradQKV: inout Matrix, projected: Matrix?, batch: PackedBatch) {
    let c = configuration
    let w = weights.blocks[l]
    let qkvWidth = gradQKV.cols
    gradQKV.storage.withUnsafeMutableBufferPointer { p in
      for r in 0..<gradQKV.rows {
        let row = p.baseAddress! + r * qkvWidth
        let slot = batch.slots[r]
        let rope = ropes.rope(layer: l, sequenceEnd: batch.sequenceEnds[slot.sequence])
        rope.apply(row, heads: c.headCount, position: slot.position, inverse: true)
        rope.apply(row + c.queryDimension, heads: c.keyValueHeadCount, position: slot.position, inverse: true)
      }
    }
    guard let qn = w.queryNorm, let kn = w.keyNorm else { return }
    guard let projected else { preconditionFailure("the forward kept no rows before the q/k norms") }
    // Each head's norm backward into a zeroed head, then copied over its gradient.
    let hd = c.headDimension
    let heads = c.headCount + c.keyValueHeadCount
    let rows = gradQKV.rows
    var head = [Float](repeating: 0, count: hd)
    projected.withPointers(&gradQKV) { xp, gp in
      for r in 0..<rows {
        for h in 0..<heads {
          let offset = r * qkvWidth + h * hd
          let x = xp + offset
          let g = gp + offset
          for i in 0..<hd { head[i] = 0 }
          Kernels.rmsNormBackward(
            x, weight: h < c.headCount ? qn : kn, inverseRMS: Kernels.inverseRMS(x, width: hd, epsilon: c.rmsNormEpsilon),
            gradientOutput: g, width: hd, accumulateInto: &head)
          for i in 0..<hd { g[i] = head[i] }
        }
      }
    }
  }
}
