import Foundation
import Tensor

/// One finished generation.
public struct Generation: Sendable, Equatable {
  public enum FinishReason: String, Sendable, Codable {
    case endOfSequence = "eos"
    case length
    /// The caller's `onToken` ended it (a stop string, a closed stream).
    case stopped
  }
  public var promptIDs: [Int]
  /// Generated ids, without the stop token.
  public var ids: [Int]
  public var finishReason: FinishReason
  /// When asked: for each generated token, the k best (id, log-probability) at that step.
  public var topLogProbabilities: [[(id: Int, logProbability: Float)]]
  /// When asked: each generated token's own log-probability (of the model's distribution,
  /// before temperature).
  public var logProbabilities: [Float] = []

  public static func == (a: Generation, b: Generation) -> Bool {
    a.promptIDs == b.promptIDs && a.ids == b.ids && a.finishReason == b.finishReason
  }
}

/// Options of a generation run.
public struct GenerationOptions: Sendable {
  public var maxNewTokens: Int
  public var sampling: SamplingParameters
  /// How many log-probabilities to report per generated token; 0 for none.
  public var logProbabilities: Int
  /// Tokens that end a sequence (besides the tokenizer's end of sequence).
  public var stopTokens: Set<Int>

  public init(maxNewTokens: Int = 128, sampling: SamplingParameters = .greedy, logProbabilities: Int = 0, stopTokens: Set<Int> = []) {
    self.maxNewTokens = maxNewTokens
    self.sampling = sampling
    self.logProbabilities = logProbabilities
    self.stopTokens = stopTokens
  }
}

extension DecoderModel {
  /// Generates continuations of many prompts at once: one packed prefill, then one packed
  /// decode step per token for all sequences still running.
  ///
  /// Sequence i samples from its own random stream derived from (seed, streams[i]) (default
  /// i), so its output does not depend on which other prompts share the batch.
  /// - Parameters:
  ///   - progress: called after each decode step with the number of tokens made so far.
  ///   - onToken: called with (sequence, token) for each token as it is made; returning false
  ///     ends that sequence there (finish reason `.stopped`), the token kept.
  public func generate(
    prompts: [[Int]], options: GenerationOptions, intervention: (any Intervention)? = nil,
    streams: [Int]? = nil, progress: ((Int) -> Void)? = nil, onToken: ((Int, Int) -> Bool)? = nil
  ) throws -> [Generation] {
    guard !prompts.isEmpty else { return [] }
    for (i, p) in prompts.enumerated() where p.isEmpty { throw ModelError.emptyInput("prompt \(i) has no tokens") }
    let stops = options.stopTokens.union([tokenizer.endOfSequence])
    var results = prompts.map { Generation(promptIDs: $0, ids: [], finishReason: .length, topLogProbabilities: []) }
    if let streams, streams.count != prompts.count {
      throw ModelError.invalidConfiguration("\(streams.count) stream indices for \(prompts.count) prompts")
    }
    var generators = prompts.indices.map { SeededGenerator.stream(seed: options.sampling.seed, index: streams?[$0] ?? $0) }
    guard options.maxNewTokens > 0 else { return results }
    let caches = prompts.map { makeCache(capacity: $0.count + options.maxNewTokens) }
    var active = Array(prompts.indices)
    var chunks = prompts.indices.map { ForwardChunk(tokens: prompts[$0], cache: caches[$0], promptLength: prompts[$0].count) }
    var made = 0
    for _ in 0..<options.maxNewTokens {
      let logits = try forward(chunks, logits: .last, intervention: intervention)
      var stillActive: [Int] = []
      var next: [ForwardChunk] = []
      logits.storage.withUnsafeBufferPointer { lp in
        for (row, s) in active.enumerated() {
          let rowPointer = lp.baseAddress! + row * logits.cols
          let token = Sampler.sample(rowPointer, count: logits.cols, parameters: options.sampling, generator: &generators[s])
          if options.logProbabilities > 0 {
            results[s].topLogProbabilities.append(
              Sampler.topLogProbabilities(rowPointer, count: logits.cols, k: options.logProbabilities))
            results[s].logProbabilities.append(rowPointer[token] - Kernels.logSumExp(rowPointer, count: logits.cols))
          }
          if stops.contains(token) {
            results[s].finishReason = .endOfSequence
            continue
          }
          results[s].ids.append(token)
          made += 1
          if let onToken, !onToken(s, token) {
            results[s].finishReason = .stopped
            continue
          }
          if results[s].ids.count < options.maxNewTokens {
            stillActive.append(s)
            next.append(ForwardChunk(tokens: [token], cache: caches[s], promptLength: prompts[s].count))
          }
        }
      }
      progress?(made)
      active = stillActive
      chunks = next
      if active.isEmpty { break }
    }
    return results
  }

  /// Renders one user turn (with optional system message) and tokenizes it, control
  /// tokens included, ending with the assistant header.
  public func chatPrompt(user: String, system: String? = nil) -> [Int] {
    var messages: [ChatMessage] = []
    if let system { messages.append(.system(system)) }
    messages.append(.user(user))
    return tokenizer.encode(chatTemplate.render(messages), parseSpecial: true)
  }
}
