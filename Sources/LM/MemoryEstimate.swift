/// What a model's weights and passes hold in memory, for choosing batch sizes that fit a budget
/// before any work starts (`--memory-budget`). Estimates, deliberately on the high side; they
/// depend only on the model and the token counts, so the same flags give the same batches on
/// any run (a resumed capture keeps its batch boundaries).
extension DecoderModel {
  /// Bytes the projections hold: fp32 copies, repacked decode blocks and, for native weights,
  /// the mapped file rows (resident once read).
  public var weightBytes: Int { weights.residentBytes }

  /// Bytes that one sequence of `tokens` tokens needs during a packed forward pass that keeps
  /// its KV cache: the cache (keys and values of every layer, a sliding layer's at most its
  /// window), the working rows of one block
  /// (residual, norm, Q/K/V, attention output, gate, up and activation, down, and the packed copy
  /// of a product's input, at most the feed-forward width), one head's causal scores over the
  /// sequence, and `recordedLayers` captured residual rows.
  /// Each is `tokens ×` its width in floats; the vocabulary row of the logits comes once.
  public func bytesPerSequence(tokens: Int, recordedLayers: Int = 0) -> Int {
    let c = configuration
    let cachedPositions = (0..<c.layerCount).reduce(0) { $0 + min(tokens, c.window(layer: $1) ?? tokens) }
    let cache = 2 * c.keyValueDimension * cachedPositions
    let block = 4 * c.modelDimension + c.queryDimension + 2 * c.keyValueDimension + 4 * c.feedForwardDimension
    let scores = tokens
    let perToken = block + scores + recordedLayers * c.modelDimension
    return 4 * (cache + tokens * perToken + c.vocabularySize)
  }

  /// The largest batch of at most `requested` sequences (each `sequences` forward rows of
  /// `tokens` tokens) whose estimate fits `budget` beside the weights, or nil when not even one
  /// does.
  public func batchSize(
    requested: Int, budget: Int, tokens: Int, sequences: Int = 1, recordedLayers: Int = 0
  ) -> Int? {
    let each = sequences * bytesPerSequence(tokens: tokens, recordedLayers: recordedLayers)
    let room = budget - weightBytes
    guard room >= each else { return nil }
    return min(requested, room / each)
  }
}

extension DecoderWeights {
  /// The projections' bytes; norm weights (a few rows of the model's width) are left out.
  var residentBytes: Int {
    let projections = [embedding] + (output.map { [$0] } ?? []) + blocks.flatMap { [$0.qkv, $0.attentionOutput] + $0.feedForward.projections }
    return projections.reduce(0) { $0 + $1.residentBytes }
  }
}

extension Linear {
  var residentBytes: Int {
    let kernelBytes = (kernels ?? []).reduce(0) {
      if case .repacked(let m) = $1 { return $0 + m.byteCount }
      return $0
    }
    return (dense.map { 4 * $0.count } ?? parts.reduce(0) { $0 + $1.data.count }) + kernelBytes
  }
}
