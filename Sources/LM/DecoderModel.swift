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
      let saved = block(l, &x, batch: batch, chunks: chunks, arena: trace?.arena(forLayer: l), gradientPass: trace != nil)
      trace?.record(layer: l, saved)
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

  /// The packed output of block `layer` (unsteered) for teacher-forced chunks, as a gradient
  /// pass computes it (a ``FrozenPrefix`` stands for the lower blocks of training's passes).
  func blockOutput(_ chunks: [ForwardChunk], through layer: Int) throws -> Matrix {
    let batch = try PackedBatch(chunks, configuration: configuration)
    ropes.reserve(positions: batch.maxPosition + 1)
    for chunk in chunks { chunk.cache.reserve(chunk.tokens.count) }
    var x = embed(batch)
    for l in 0...layer { _ = block(l, &x, batch: batch, chunks: chunks, arena: nil, gradientPass: true) }
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
