import Tensor

/// Where attention's keys and values come from: the new rows are written into each chunk's
/// cache, and each chunk's queries read a contiguous view of the keys they may see.
extension DecoderModel {
  /// Writes the new keys and values of every chunk into its cache, at their slots.
  func storeKeysValues(_ l: Int, qkv: Matrix, batch: PackedBatch, chunks: [ForwardChunk]) {
    let c = configuration
    let kv = c.keyValueDimension
    let qkvWidth = c.queryDimension + 2 * kv
    qkv.storage.withUnsafeBufferPointer { q in
      for (i, chunk) in chunks.enumerated() {
        let rows = batch.chunkRanges[i]
        let start = chunk.cache.count
        // A chunk longer than a ring writes only its last `window` rows; the earlier ones would
        // be overwritten anyway.
        let skip = chunk.cache.windows[l].map { max(0, rows.count - $0) } ?? 0
        chunk.cache.keys[l].withUnsafeMutableBufferPointer { k in
          chunk.cache.values[l].withUnsafeMutableBufferPointer { v in
            for (j, r) in rows.enumerated() where j >= skip {
              let src = q.baseAddress! + r * qkvWidth + c.queryDimension
              let slot = chunk.cache.slot(start + j, layer: l)
              (k.baseAddress! + slot * kv).update(from: src, count: kv)
              (v.baseAddress! + slot * kv).update(from: src + kv, count: kv)
            }
          }
        }
      }
    }
  }

  /// The keys and values a chunk's new queries attend to, contiguous and in position order:
  /// `past` rows before the new tokens' own.
  struct KeyValueView {
    var keys: [Float]
    var values: [Float]
    var past: Int
  }

  /// Stores the new keys and values, and returns each chunk's view of them. A global layer's
  /// view is its cache (no copy). A sliding layer's is gathered before the store, from the ring's
  /// last `window − 1` positions and the new rows, since storing a long chunk can overwrite
  /// positions its first queries still see.
  func keyValueViews(_ l: Int, qkv: Matrix, batch: PackedBatch, chunks: [ForwardChunk]) -> [KeyValueView] {
    let c = configuration
    guard let window = c.window(layer: l) else {
      storeKeysValues(l, qkv: qkv, batch: batch, chunks: chunks)
      return chunks.map { KeyValueView(keys: $0.cache.keys[l], values: $0.cache.values[l], past: $0.cache.count) }
    }
    let kv = c.keyValueDimension
    let qkvWidth = c.queryDimension + 2 * kv
    let views = chunks.enumerated().map { (i, chunk) in
      let rows = batch.chunkRanges[i]
      let past = chunk.cache.count
      let first = max(0, past - (window - 1))
      // Position order: the ring's slots first, then the new rows (contiguous copies, no pointers).
      var keys: [Float] = []
      var values: [Float] = []
      keys.reserveCapacity((past - first + rows.count) * kv)
      values.reserveCapacity((past - first + rows.count) * kv)
      for p in first..<past {
        let slot = chunk.cache.slot(p, layer: l) * kv
        keys.append(contentsOf: chunk.cache.keys[l][slot..<(slot + kv)])
        values.append(contentsOf: chunk.cache.values[l][slot..<(slot + kv)])
      }
      for r in rows {
        let k = r * qkvWidth + c.queryDimension
        keys.append(contentsOf: qkv.storage[k..<(k + kv)])
        values.append(contentsOf: qkv.storage[(k + kv)..<(k + 2 * kv)])
      }
      return KeyValueView(keys: keys, values: values, past: past - first)
    }
    storeKeysValues(l, qkv: qkv, batch: batch, chunks: chunks)
    return views
  }
}
