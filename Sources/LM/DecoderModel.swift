import Foundation
import Synchronization
import Tensor

/// A run of new tokens of one sequence, fed to the model after what its cache holds.
public struct ForwardChunk {
  public var tokens: [Int]
  public var cache: KVCache
  /// Positions below this are prompt tokens, the rest response tokens (for the hook).
  public var promptLength: Int

  public init(tokens: [Int], cache: KVCache, promptLength: Int) {
    self.tokens = tokens
    self.cache = cache
    self.promptLength = promptLength
  }
}

/// Which rows of a forward pass get logits.
public enum LogitRows: Sendable, Equatable {
  case none
  /// The last new token of each chunk, one row per chunk.
  case last
  /// Every new token, in packed order.
  case all
}

/// A decoder-only transformer of any family in ``ModelFamily``, fp32 on OpenBLAS, driven by
/// its ``DecoderConfiguration``.
///
/// `forward` runs a packed batch: the new tokens of several sequences are stacked into one
/// matrix so that every projection is a single GEMM, while attention stays within each
/// sequence (its cache plus its own new tokens, causally masked). No padding is involved.
public final class DecoderModel: Sendable {
  public let configuration: DecoderConfiguration
  public let tokenizer: any Tokenizer
  /// The file's template, or the built-in one that `init`'s `chatTemplate` named.
  public let chatTemplate: ChatTemplate
  /// The GGUF file or Hugging Face directory the model came from.
  public let path: String
  /// The files whose bytes identify the model (the GGUF file, or config.json and the shards).
  let files: [String]
  let weights: DecoderWeights
  let ropes: RopeSet

  /// How the projections hold their weights.
  public let weightPrecision: WeightPrecision
  /// What the products of quantized weights multiply with, as it runs on this CPU (`int8` asked
  /// for on a CPU without the 8-bit products runs fp32).
  public let computePrecision: ComputePrecision

  /// Loads a GGUF file or a Hugging Face model directory (`config.json` and safetensors).
  ///
  /// - Parameter weights: fp32 copies or the file's own precision; by default native, or on a
  ///   CPU without AVX-512 fp32 up to a billion parameters
  ///   (``WeightPrecision/automatic(parameterCount:)``).
  ///   - chatTemplate: a built-in template's name (`--chat-template`) to use instead of the one
  ///     detected in the files, which then may be one that is not recognised.
  /// The tokenizer of a GGUF file or a Hugging Face directory, without loading the weights.
  public static func tokenizer(path: String) throws -> any Tokenizer {
    HuggingFaceCheckpoint.isCheckpoint(path)
      ? try tokenizer(checkpoint: try HuggingFaceCheckpoint(directory: path)) : try loadTokenizer(gguf: try GGUFFile(path: path))
  }

  private static func tokenizer(checkpoint: HuggingFaceCheckpoint) throws -> any Tokenizer {
    let path = checkpoint.directory + "/tokenizer.json"
    guard FileManager.default.fileExists(atPath: path) else {
      throw ModelError.badCheckpoint(path: checkpoint.directory, reason: "has no tokenizer.json")
    }
    return try loadTokenizer(tokenizerJSON: path, endOfSequence: checkpoint.endOfSequenceIds.first)
  }

  ///   - compute: fp32 (the reference) or 8-bit activations for the K-quant weights' products
  ///     (``ComputePrecision``).
  public init(
    path: String, weights: WeightPrecision? = nil, chatTemplate templateName: String? = nil, compute: ComputePrecision = .fp32
  ) throws {
    computePrecision = compute.effective
    if HuggingFaceCheckpoint.isCheckpoint(path) {
      let checkpoint = try HuggingFaceCheckpoint(directory: path)
      configuration = checkpoint.configuration
      tokenizer = try Self.tokenizer(checkpoint: checkpoint)
      let config = BPETokenizer.tokenizerConfig(path)
      func special(_ key: String) -> String {
        (config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String) ?? ""
      }
      chatTemplate = try ChatTemplate(
        source: config["chat_template"] as? String, beginOfSequence: special("bos_token"), endOfSequence: special("eos_token"),
        override: templateName)
      let precision = weights ?? .automatic(parameterCount: configuration.parameterCount(tiedOutput: checkpoint.tied))
      weightPrecision = precision
      do {
        self.weights = try DecoderWeights(source: checkpoint, configuration: configuration, precision: precision, compute: computePrecision)
      } catch ModelError.tensorShape(let name, let found, let expected) {
        // Said in the checkpoint's own names and (out, in) order.
        let hfName = HuggingFaceCheckpoint.huggingFaceName(name, family: configuration.family) ?? name
        throw ModelError.badCheckpoint(
          path: path, reason: "tensor '\(hfName)' has shape \(Array(found.reversed())), expected \(Array(expected.reversed()))")
      }
      files = checkpoint.files
    } else {
      let gguf = try GGUFFile(path: path)
      configuration = try DecoderConfiguration(metadata: gguf.metadata)
      tokenizer = try loadTokenizer(gguf: gguf)
      chatTemplate = try ChatTemplate(gguf: gguf, override: templateName)
      let precision =
        weights ?? .automatic(parameterCount: configuration.parameterCount(tiedOutput: !gguf.hasTensor("output.weight")))
      weightPrecision = precision
      self.weights = try DecoderWeights(source: gguf, configuration: configuration, precision: precision, compute: computePrecision)
      files = [path]
    }
    guard tokenizer.vocabularySize <= configuration.vocabularySize else {
      throw ModelError.invalidConfiguration(
        "tokenizer has \(tokenizer.vocabularySize) tokens, the model \(configuration.vocabularySize)")
    }
    ropes = RopeSet(configuration: configuration, weights: self.weights)
    self.path = path
  }

  private let cachedFingerprint = Mutex<ModelFingerprint?>(nil)

  /// Name, file hash and shape; computed on first use (hashing reads the whole file).
  public var fingerprint: ModelFingerprint {
    get throws {
      try cachedFingerprint.withLock { cached in
        if let cached { return cached }
        // One file: its hash. A directory: the hash of its files' hashes, in order.
        let hashes = try files.map { try SHA256.hex(ofFile: $0) }
        let sha = hashes.count == 1 ? hashes[0] : SHA256.hex(Array(hashes.joined(separator: "\n").utf8))
        let f = ModelFingerprint(
          name: configuration.name, sha256: sha, layerCount: configuration.layerCount,
          modelDimension: configuration.modelDimension)
        cached = f
        return f
      }
    }
  }

  /// A cache sized for `capacity` positions.
  public func makeCache(capacity: Int = 256) -> KVCache {
    KVCache(configuration: configuration, capacity: capacity)
  }

  /// Runs the new tokens of every chunk, appends them to the chunks' caches, and returns
  /// the logits of the requested rows (`rows × vocabulary`).
  ///
  /// - Parameters:
  ///   - intervention: edits (or reads) the residual stream after its layers.
  ///   - trace: when given, records what the backward pass needs.
  ///   - prefix: restart from its states after block `prefix.layer` instead of running
  ///     blocks 0…`prefix.layer`; the intervention must not edit below that layer, and the
  ///     chunks' caches must be empty (teacher-forced passes).
  @discardableResult
  public func forward(
    _ chunks: [ForwardChunk], logits rows: LogitRows = .last,
    intervention: (any Intervention)? = nil, trace: ForwardTrace? = nil, prefix: FrozenPrefix? = nil
  ) throws -> Matrix {
    let (x, batch) = try hiddenStates(chunks, intervention: intervention, trace: trace, prefix: prefix)
    let selected: [Int] =
      switch rows {
      case .none: []
      case .last: batch.chunkRanges.map { $0.upperBound - 1 }
      case .all: Array(0..<batch.rows)
      }
    return logits(of: x, rows: selected)
  }

  /// The last block's output for every new token, in packed order, before the final norm; the
  /// part of `forward` that precedes the output head.
  func hiddenStates(
    _ chunks: [ForwardChunk], intervention: (any Intervention)?, trace: ForwardTrace?, prefix: FrozenPrefix?
  ) throws -> (Matrix, PackedBatch) {
    let c = configuration
    let requested = chunks
    let chunks = replayingForLongRope(chunks)
    let batch = try PackedBatch(chunks, configuration: c)
    ropes.reserve(positions: batch.maxPosition + 1)
    for chunk in chunks { chunk.cache.reserve(chunk.tokens.count) }
    var x: Matrix
    var first = 0
    trace?.begin(batch: batch, configuration: c)
    if let prefix {
      guard chunks.allSatisfy({ $0.cache.count == 0 }), (intervention?.layers.min() ?? c.layerCount) >= prefix.layer else {
        throw ModelError.invalidConfiguration("a frozen prefix needs empty caches and no edits below layer \(prefix.layer)")
      }
      x = try prefix.packedStates(for: chunks, model: self)
      edit(prefix.layer, &x, batch: batch, intervention: intervention, trace: trace)
      first = prefix.layer + 1
    } else {
      x = embed(batch)
    }
    for l in first..<c.layerCount {
      block(l, &x, batch: batch, chunks: chunks, trace: trace.flatMap { $0.covers(l) ? $0 : nil })
      edit(l, &x, batch: batch, intervention: intervention, trace: trace)
    }
    for (i, chunk) in chunks.enumerated() {
      if let beyond = ropes.longBeyond, batch.sequenceEnds[i] > beyond { chunk.cache.rotatedLong = true }
      chunk.cache.advance(with: chunk.tokens)
    }
    trace?.recordFinal(x)
    guard zip(chunks, requested).contains(where: { $0.tokens.count != $1.tokens.count }) else { return (x, batch) }
    // Hand back the requested rows only, as if no past had been run again.
    let (kept, rows) = batch.keepingLast(requested.map(\.tokens.count))
    var out = Matrix(rows: rows.count, cols: x.cols)
    for (i, r) in rows.enumerated() { out.storage.replaceSubrange(i * x.cols..<(i + 1) * x.cols, with: x.row(r)) }
    return (out, kept)
  }

  /// LongRoPE as transformers' Phi-3 generates: when a sequence first grows beyond the original
  /// context, the keys its cache holds were rotated with the short factors, so the cache is
  /// emptied and its tokens run again with the new ones, every position with the long factors.
  private func replayingForLongRope(_ chunks: [ForwardChunk]) -> [ForwardChunk] {
    guard let beyond = ropes.longBeyond else { return chunks }
    return chunks.map { chunk in
      let cache = chunk.cache
      guard cache.count > 0, !cache.rotatedLong, cache.count + chunk.tokens.count > beyond else { return chunk }
      let past = cache.tokens
      cache.reset()
      return ForwardChunk(tokens: past + chunk.tokens, cache: cache, promptLength: chunk.promptLength)
    }
  }

  /// The token embeddings of a packed batch, times the family's embedding scale.
  private func embed(_ batch: PackedBatch) -> Matrix {
    let d = configuration.modelDimension
    var x = Matrix(rows: batch.rows, cols: d)
    x.storage.withUnsafeMutableBufferPointer { xp in
      for (r, token) in batch.tokens.enumerated() { weights.embedding.row(token, into: xp.baseAddress! + r * d) }
    }
    if let scale = configuration.embeddingScale {
      for i in x.storage.indices { x.storage[i] *= scale }
    }
    return x
  }

  /// Applies the intervention's edit after block `l`, recording its input for backward.
  private func edit(_ l: Int, _ x: inout Matrix, batch: PackedBatch, intervention: (any Intervention)?, trace: ForwardTrace?) {
    guard let intervention, intervention.layers.contains(l) else { return }
    if let trace, trace.covers(l) { trace.recordEditInput(layer: l, x) }
    let (n, d) = (x.rows, x.cols)
    x.storage.withUnsafeMutableBufferPointer { p in
      intervention.edit(layer: l, hidden: HiddenStates(pointer: p.baseAddress!, rows: n, width: d, slots: batch.slots))
    }
  }

  /// The packed output of block `layer` (unsteered) for teacher-forced chunks.
  func blockOutput(_ chunks: [ForwardChunk], through layer: Int) throws -> Matrix {
    let batch = try PackedBatch(chunks, configuration: configuration)
    ropes.reserve(positions: batch.maxPosition + 1)
    for chunk in chunks { chunk.cache.reserve(chunk.tokens.count) }
    var x = embed(batch)
    for l in 0...layer { block(l, &x, batch: batch, chunks: chunks, trace: nil) }
    return x
  }

  /// The final RMSNorm of every row (what Hugging Face reports as the last hidden state).
  public func finalNorm(_ hidden: Matrix) -> Matrix {
    var out = Matrix(rows: hidden.rows, cols: hidden.cols)
    Kernels.rmsNorm(
      hidden.storage, weight: weights.finalNorm, epsilon: configuration.rmsNormEpsilon, rows: hidden.rows,
      width: hidden.cols, output: &out.storage)
    return out
  }

  /// The final norm and output projection of the given rows of block-output states.
  public func logits(of hidden: Matrix, rows: [Int]) -> Matrix {
    var out = Matrix(rows: rows.count, cols: configuration.vocabularySize)
    logits(of: hidden, rows: rows, into: &out)
    return out
  }

  /// `logits(of:rows:)` into a matrix of `rows.count` rows, so that a caller going through
  /// many rows in blocks reuses one buffer.
  func logits(of hidden: Matrix, rows: [Int], into out: inout Matrix) {
    let c = configuration
    let d = c.modelDimension
    var normed = Matrix(rows: rows.count, cols: d)
    guard !rows.isEmpty else { return }
    hidden.storage.withUnsafeBufferPointer { h in
      normed.storage.withUnsafeMutableBufferPointer { y in
        for (i, r) in rows.enumerated() {
          Kernels.rmsNorm(
            h.baseAddress! + r * d, weight: weights.finalNorm, epsilon: c.rmsNormEpsilon, rows: 1, width: d,
            output: y.baseAddress! + i * d)
        }
      }
    }
    weights.head.apply(normed, into: &out)
    if let cap = c.finalSoftcap {
      for i in out.storage.indices { out.storage[i] = cap * tanhf(out.storage[i] / cap) }
    }
  }

  /// One transformer block on the packed states `x`, in place:
  /// x ← x + post₁(W_o · attention(rope(qknorm(W_qkv · norm₁(x) + b))))
  /// x ← x + post₂(W_down · (act(W_gate · n) ⊙ W_up · n)), n = norm₂(x),
  /// where the post-norms, biases and q/k norms exist only in the families that have them.
  private func block(_ l: Int, _ x: inout Matrix, batch: PackedBatch, chunks: [ForwardChunk], trace: ForwardTrace?) {
    let c = configuration
    let w = weights.blocks[l]
    let n = batch.rows
    let d = c.modelDimension
    let qkvWidth = c.queryDimension + 2 * c.keyValueDimension
    trace?.recordBlockInput(layer: l, x)

    var normed = Matrix(rows: n, cols: d)
    Self.rmsNormRows(x, weight: w.attentionNorm, epsilon: c.rmsNormEpsilon, into: &normed)
    var qkv = Matrix(rows: n, cols: qkvWidth)
    w.qkv.apply(normed, into: &qkv)
    if let bias = w.qkvBias { Self.addRowVector(bias, to: &qkv) }
    if w.queryNorm != nil { trace?.recordProjectedQKV(layer: l, qkv) }
    positionQueriesKeys(l, &qkv, batch: batch)
    var attended = Matrix(rows: n, cols: c.queryDimension)
    attention(l, qkv: qkv, batch: batch, chunks: chunks, output: &attended, trace: trace)
    trace?.recordAttention(layer: l, qkv: qkv, attended: attended)
    residualAdd(w.attentionOutput, attended, postNorm: w.postAttentionNorm, to: &x) { trace?.recordAttentionProjection(layer: l, $0) }
    trace?.recordMiddle(layer: l, x)

    Self.rmsNormRows(x, weight: w.feedForwardNorm, epsilon: c.rmsNormEpsilon, into: &normed)
    guard case .dense(let gateUpWeights, let down) = w.feedForward, c.experts == nil else {
      guard case .mixture(let experts) = w.feedForward, let moe = c.experts else { preconditionFailure("feed-forward kind") }
      let (y, mixture) = mixtureForward(experts, moe: moe, normed: normed, keep: trace != nil)
      if let mixture { trace?.recordMixture(layer: l, mixture) }
      addResidual(y, postNorm: w.postFeedForwardNorm, to: &x) { trace?.recordFeedForwardProjection(layer: l, $0) }
      return
    }
    let ff = c.feedForwardDimension
    var gateUp = Matrix(rows: n, cols: 2 * ff)
    gateUpWeights.apply(normed, into: &gateUp)
    var activated = Matrix(rows: n, cols: ff)
    gateUp.storage.withUnsafeBufferPointer { g in
      activated.storage.withUnsafeMutableBufferPointer { a in
        let gp = g.baseAddress!
        let ap = a.baseAddress!
        Parallel.rows(n) { rows in
          c.activation.forward(
            gateUp: gp + rows.lowerBound * 2 * ff, rows: rows.count, width: ff, output: ap + rows.lowerBound * ff,
            fast: computePrecision == .int8)
        }
      }
    }
    trace?.recordFeedForward(layer: l, gateUp: gateUp)
    residualAdd(down, activated, postNorm: w.postFeedForwardNorm, to: &x) { trace?.recordFeedForwardProjection(layer: l, $0) }
  }

  /// x += y, or x += norm(y) with a post-norm (handing y to `record` for backward).
  private func addResidual(_ y: Matrix, postNorm: [Float]?, to x: inout Matrix, record: (Matrix) -> Void) {
    guard let postNorm else {
      Kernels.axpy(1, y.storage, &x.storage, count: x.storage.count)
      return
    }
    record(y)
    var normed = Matrix(rows: y.rows, cols: x.cols)
    Self.rmsNormRows(y, weight: postNorm, epsilon: configuration.rmsNormEpsilon, into: &normed)
    Kernels.axpy(1, normed.storage, &x.storage, count: x.storage.count)
  }

  /// x += W · a, or x += norm(W · a) with a post-norm (handing W · a to `record` for backward).
  private func residualAdd(
    _ projection: Linear, _ a: Matrix, postNorm: [Float]?, to x: inout Matrix, record: (Matrix) -> Void
  ) {
    guard let postNorm else {
      projection.apply(a, into: &x, beta: 1)
      return
    }
    var projected = Matrix(rows: a.rows, cols: x.cols)
    projection.apply(a, into: &projected)
    addResidual(projected, postNorm: postNorm, to: &x, record: record)
  }

  /// Per-head q/k norms (where the family has them), then RoPE, on every packed row.
  private func positionQueriesKeys(_ l: Int, _ qkv: inout Matrix, batch: PackedBatch) {
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

  /// Adds `bias` to every row of `m`.
  static func addRowVector(_ bias: [Float], to m: inout Matrix) {
    let w = m.cols
    m.storage.withUnsafeMutableBufferPointer { p in
      for r in 0..<m.rows { Kernels.axpy(1, bias, p.baseAddress! + r * w, count: w) }
    }
  }

  /// RMSNorm of every row of `x` into `out`, rows split over the cores.
  static func rmsNormRows(_ x: Matrix, weight: [Float], epsilon: Float, into out: inout Matrix) {
    let d = x.cols
    x.storage.withUnsafeBufferPointer { xb in
      out.storage.withUnsafeMutableBufferPointer { ob in
        weight.withUnsafeBufferPointer { wb in
          let xp = xb.baseAddress!
          let op = ob.baseAddress!
          let wp = wb.baseAddress!
          Parallel.rows(x.rows) { rows in
            Kernels.rmsNorm(
              xp + rows.lowerBound * d, weight: wp, epsilon: epsilon, rows: rows.count, width: d, output: op + rows.lowerBound * d)
          }
        }
      }
    }
  }

  /// Writes the new keys and values of every chunk into its cache, at their slots.
  private func storeKeysValues(_ l: Int, qkv: Matrix, batch: PackedBatch, chunks: [ForwardChunk]) {
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
  private func keyValueViews(_ l: Int, qkv: Matrix, batch: PackedBatch, chunks: [ForwardChunk]) -> [KeyValueView] {
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
      var keys = [Float](repeating: 0, count: (past - first + rows.count) * kv)
      var values = keys
      keys.withUnsafeMutableBufferPointer { k in
        values.withUnsafeMutableBufferPointer { v in
          chunk.cache.keys[l].withUnsafeBufferPointer { ck in
            chunk.cache.values[l].withUnsafeBufferPointer { cv in
              for p in first..<past {
                let slot = chunk.cache.slot(p, layer: l)
                (k.baseAddress! + (p - first) * kv).update(from: ck.baseAddress! + slot * kv, count: kv)
                (v.baseAddress! + (p - first) * kv).update(from: cv.baseAddress! + slot * kv, count: kv)
              }
            }
          }
          qkv.storage.withUnsafeBufferPointer { q in
            for (j, r) in rows.enumerated() {
              let src = q.baseAddress! + r * qkvWidth + c.queryDimension
              (k.baseAddress! + (past - first + j) * kv).update(from: src, count: kv)
              (v.baseAddress! + (past - first + j) * kv).update(from: src + kv, count: kv)
            }
          }
        }
      }
      return KeyValueView(keys: keys, values: values, past: past - first)
    }
    storeKeysValues(l, qkv: qkv, batch: batch, chunks: chunks)
    return views
  }

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

  /// Causal grouped-query attention of each chunk's new tokens over its cache.
  private func attention(
    _ l: Int, qkv: Matrix, batch: PackedBatch, chunks: [ForwardChunk], output: inout Matrix, trace: ForwardTrace?
  ) {
    let c = configuration
    let hd = c.headDimension
    let kv = c.keyValueDimension
    let qkvWidth = c.queryDimension + 2 * kv
    let scale = c.attentionScale
    let softcap = c.attentionSoftcap
    let window = c.window(layer: l)
    let tasks = chunks.count * c.headCount
    let outWidth = c.queryDimension
    if batch.rows == chunks.count && Kernels.hasSIMD {
      storeKeysValues(l, qkv: qkv, batch: batch, chunks: chunks)
      decodeAttention(l, qkv: qkv, chunks: chunks, output: &output, trace: trace)
      return
    }
    let views = keyValueViews(l, qkv: qkv, batch: batch, chunks: chunks)
    output.storage.withUnsafeMutableBufferPointer { outBuffer in
      qkv.storage.withUnsafeBufferPointer { q in
        let out = outBuffer
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
          var probabilities = [Float](repeating: 0, count: m * total)
          view.keys.withUnsafeBufferPointer { keys in
            view.values.withUnsafeBufferPointer { values in
              let qBase = q.baseAddress! + rows.lowerBound * qkvWidth + h * hd
              let kBase = keys.baseAddress! + kvHead * hd
              let vBase = values.baseAddress! + kvHead * hd
              let oBase = out.baseAddress! + rows.lowerBound * outWidth + h * hd
              probabilities.withUnsafeMutableBufferPointer { p in
                let s = p.baseAddress!
                if m == 1 {
                  let first = Self.firstVisibleKey(query: total - 1, window: window)
                  for j in 0..<total { s[j] = first <= j ? Self.cap(scale * Kernels.dot(qBase, kBase + j * kv, count: hd), softcap) : 0 }
                  Kernels.softmax(s + first, count: total - first)
                  let o = oBase
                  for i in 0..<hd { o[i] = 0 }
                  for j in first..<total { Kernels.axpy(s[j], vBase + j * kv, o, count: hd) }
                  return
                }
                // Causal blocks of query rows: block [i0, i1) sees keys 0..<past + i1 only, so
                // the masked upper triangle is neither multiplied nor exponentiated. Keys before a
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
          trace?.recordProbabilities(layer: l, chunk: ci, head: h, probabilities)
        }
        if batch.rows == chunks.count {
          // Decoding: one query per sequence, many small independent tasks without BLAS.
          Parallel.perform(tasks, work)
        } else {
          // Prefill: the tasks' products are too small for OpenBLAS's threading to pay, so
          // they run single-threaded, one task per core.
          let threads = BLAS.threadCount
          BLAS.threadCount = 1
          Parallel.perform(tasks, work)
          BLAS.threadCount = threads
        }
      }
    }
  }
}

extension DecoderModel {
  /// Attention of one new token per chunk (decoding): one task per chunk and key/value head,
  /// so that each cached key and value row is read once for the query heads sharing it.
  fileprivate func decodeAttention(
    _ l: Int, qkv: Matrix, chunks: [ForwardChunk], output: inout Matrix, trace: ForwardTrace?
  ) {
    let c = configuration
    let hd = c.headDimension
    let qkvWidth = c.queryDimension + 2 * c.keyValueDimension
    let group = c.groupSize
    let window = c.window(layer: l)
    // One scratch area for every task's probabilities, instead of an allocation per task:
    // task (chunk, kvHead) owns group × total floats from its offset.
    var offsets = [0]
    for chunk in chunks { offsets.append(offsets.last! + c.keyValueHeadCount * group * (chunk.cache.count + 1)) }
    var scratch = [Float](repeating: 0, count: offsets.last!)
    scratch.withUnsafeMutableBufferPointer { scratchBuffer in
      output.storage.withUnsafeMutableBufferPointer { outBuffer in
        qkv.storage.withUnsafeBufferPointer { q in
          let out = outBuffer
          let probabilitiesBase = scratchBuffer.baseAddress!
          Parallel.run(parts: chunks.count * c.keyValueHeadCount) { task in
            let ci = task / c.keyValueHeadCount
            let kvHead = task % c.keyValueHeadCount
            let chunk = chunks[ci]
            let total = chunk.cache.count + 1
            // Within a sliding window only the last `seen` keys take part. A wrapped ring holds
            // exactly those, out of order, from slot 0: the softmax-weighted sum does not depend
            // on the order.
            let wrapped = chunk.cache.wrapped(layer: l, total: total)
            let first = wrapped ? 0 : Self.firstVisibleKey(query: total - 1, window: window)
            let seen = wrapped ? window! : total - first
            let p = probabilitiesBase + offsets[ci] + kvHead * group * total
            chunk.cache.keys[l].withUnsafeBufferPointer { keys in
              chunk.cache.values[l].withUnsafeBufferPointer { values in
                let kv = c.keyValueDimension
                Kernels.attendOne(
                  heads: group, headDimension: hd, query: q.baseAddress! + ci * qkvWidth + kvHead * group * hd,
                  keys: keys.baseAddress! + first * kv + kvHead * hd, values: values.baseAddress! + first * kv + kvHead * hd,
                  stride: kv, count: seen, scale: c.attentionScale, softcap: c.attentionSoftcap, probabilities: p,
                  output: out.baseAddress! + ci * c.queryDimension + kvHead * group * hd)
              }
            }
            if let trace {
              for g in 0..<group {
                var visible = Array(UnsafeBufferPointer(start: p + g * seen, count: seen))
                var leading = first
                if wrapped {
                  // Back into position order: slot s holds position total − seen + ((s − start) mod seen).
                  let start = (total - seen) % seen
                  visible = Array(visible[start...] + visible[..<start])
                  leading = total - seen
                }
                trace.recordProbabilities(
                  layer: l, chunk: ci, head: kvHead * group + g, [Float](repeating: 0, count: leading) + visible)
              }
            }
          }
        }
      }
    }
  }
}

/// The new tokens of a forward call, packed, with each row's slot.
struct PackedBatch {
  var tokens: [Int] = []
  var slots: [TokenSlot] = []
  var chunkRanges: [Range<Int>] = []
  /// Per chunk, the position after its last new token (its sequence's length so far).
  var sequenceEnds: [Int] = []
  var maxPosition = 0
  var rows: Int { tokens.count }

  /// The batch of each chunk's last `counts[i]` rows, and those rows' indices in this one.
  func keepingLast(_ counts: [Int]) -> (PackedBatch, rows: [Int]) {
    var kept = PackedBatch()
    var rows: [Int] = []
    for (i, range) in chunkRanges.enumerated() {
      let first = kept.tokens.count
      for r in (range.upperBound - counts[i])..<range.upperBound {
        rows.append(r)
        kept.tokens.append(tokens[r])
        kept.slots.append(slots[r])
        kept.maxPosition = max(kept.maxPosition, slots[r].position)
      }
      kept.chunkRanges.append(first..<kept.tokens.count)
      kept.sequenceEnds.append(sequenceEnds[i])
    }
    return (kept, rows)
  }

  private init() {}

  init(_ chunks: [ForwardChunk], configuration c: DecoderConfiguration) throws {
    for (i, chunk) in chunks.enumerated() {
      guard !chunk.tokens.isEmpty else { throw ModelError.emptyInput("chunk \(i) has no tokens") }
      let start = chunk.cache.count
      guard start + chunk.tokens.count <= c.contextLength else {
        throw ModelError.contextOverflow(needed: start + chunk.tokens.count, limit: c.contextLength)
      }
      let first = tokens.count
      for (j, token) in chunk.tokens.enumerated() {
        guard token >= 0 && token < c.vocabularySize else {
          throw ModelError.tokenOutOfRange(token, vocabularySize: c.vocabularySize)
        }
        let p = start + j
        let role: TokenRole =
          p < chunk.promptLength ? .prompt(index: p, length: chunk.promptLength) : .response(index: p - chunk.promptLength)
        tokens.append(token)
        slots.append(TokenSlot(sequence: i, position: p, role: role))
        maxPosition = max(maxPosition, p)
      }
      chunkRanges.append(first..<tokens.count)
      sequenceEnds.append(start + chunk.tokens.count)
    }
  }
}
