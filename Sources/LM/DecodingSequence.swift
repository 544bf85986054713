import Tensor

/// One sequence being decoded: its cache, random stream and what it has made so far. The one
/// place where a row of logits becomes a token, shared by `generate` and ``DecodeLoop``.
struct DecodingSequence {
  let promptLength: Int
  let maxNewTokens: Int
  let cache: KVCache
  var generator: SeededGenerator
  var result: Generation

  init(prompt: [Int], maxNewTokens: Int, seed: UInt64, stream: Int, model: DecoderModel) {
    promptLength = prompt.count
    self.maxNewTokens = maxNewTokens
    cache = model.makeCache(capacity: prompt.count + maxNewTokens)
    generator = SeededGenerator.stream(seed: seed, index: stream)
    result = Generation(promptIDs: prompt, ids: [], finishReason: .length, topLogProbabilities: [])
  }

  /// Samples from one row of logits and records the token; returns the token to feed next, or nil
  /// when the sequence has ended (end of sequence, length, or `onToken` said stop). Throws when the
  /// chosen token's logit is not finite: a NaN or an infinity reaches every logit through the final
  /// norm, and sampling on would emit arbitrary tokens without a word.
  mutating func advance(
    logits row: UnsafePointer<Float>, count: Int, sampling: SamplingParameters, logProbabilities k: Int, stops: Set<Int>,
    onToken: ((Int) -> Bool)?
  ) throws -> Int? {
    let token = Sampler.sample(row, count: count, parameters: sampling, generator: &generator)
    guard row[token].isFinite else { throw ModelError.nonFiniteLogits(generated: result.ids.count) }
    if k > 0 {
      result.topLogProbabilities.append(Sampler.topLogProbabilities(row, count: count, k: k))
      result.logProbabilities.append(row[token] - Kernels.logSumExp(row, count: count))
    }
    if stops.contains(token) {
      result.finishReason = .endOfSequence
      return nil
    }
    result.ids.append(token)
    if let onToken, !onToken(token) {
      result.finishReason = .stopped
      return nil
    }
    return result.ids.count < maxNewTokens ? token : nil
  }

  /// The chunk that feeds `token` back.
  func chunk(_ token: Int) -> ForwardChunk { ForwardChunk(tokens: [token], cache: cache, promptLength: promptLength) }
}
