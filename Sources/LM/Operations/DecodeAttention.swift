import Tensor

extension DecoderModel {
  /// Attention of one new token per chunk (decoding): one task per chunk and key/value head,
  /// so that each cached key and value row is read once for the query heads sharing it. Its
  /// keys and values are already stored. No backward: teacher forcing never decodes; a traced
  /// decoding step still saves its probabilities, in position order.
  func decodeAttention(
    _ l: Int, qkv: Matrix, chunks: [ForwardChunk], output: inout Matrix, saved: AttentionProbabilities?
  ) {
    let c = configuration
    let hd = c.headDimension
    let kv = c.keyValueDimension
    let qkvWidth = c.queryDimension + 2 * kv
    let group = c.groupSize
    let window = c.window(layer: l)
    // One scratch area for every task's probabilities, instead of an allocation per task:
    // task (chunk, kvHead) owns group × total floats from its offset.
    var offsets = [0]
    for chunk in chunks { offsets.append(offsets.last! + c.keyValueHeadCount * group * (chunk.cache.count + 1)) }
    let scratch = ScratchArena()
    let probabilitiesBase = scratch.floats(offsets.last!)
    qkv.withPointers(&output) { q, out in
      Parallel.run(parts: chunks.count * c.keyValueHeadCount) { task in
        let ci = task / c.keyValueHeadCount
        let kvHead = task % c.keyValueHeadCount
        let chunk = chunks[ci]
        let total = chunk.cache.count + 1
        // Within a sliding window only the last `seen` keys take part. A wrapped ring holds
        // exactly those, out of order, from slot 0: the softmax-weighted sum does not depend on
        // the order.
        let wrapped = chunk.cache.wrapped(layer: l, total: total)
        let first = wrapped ? 0 : Self.firstVisibleKey(query: total - 1, window: window)
        let seen = wrapped ? window! : total - first
        let p = probabilitiesBase + offsets[ci] + kvHead * group * total
        chunk.cache.keys[l].withUnsafeBufferPointer { keys in
          chunk.cache.values[l].withUnsafeBufferPointer { values in
            Kernels.attendOne(
              heads: group, headDimension: hd, query: q + ci * qkvWidth + kvHead * group * hd,
              keys: keys.baseAddress! + first * kv + kvHead * hd, values: values.baseAddress! + first * kv + kvHead * hd,
              stride: kv, count: seen, scale: c.attentionScale, softcap: c.attentionSoftcap, probabilities: p,
              output: out + ci * c.queryDimension + kvHead * group * hd)
          }
        }
        guard let saved else { return }
        for g in 0..<group {
          let row = p + g * seen
          let target = saved.pointer(chunk: ci, head: kvHead * group + g)
          guard wrapped else {
            // Keys before the window stay 0.
            (target + first).update(from: row, count: seen)
            continue
          }
          // Back into position order: slot s holds position total − seen + ((s − start) mod seen).
          let start = (total - seen) % seen
          let leading = total - seen
          (target + leading).update(from: row + start, count: seen - start)
          (target + leading + seen - start).update(from: row, count: start)
        }
      }
    }
  }
}
