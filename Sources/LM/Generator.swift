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
  ///   - perSequence: one intervention (or nil) per prompt, instead of `intervention` for all: each
  ///     edits only its own sequence's rows (``RoutedIntervention``), however many have finished.
  public func generate(
    prompts: [[Int]], options: GenerationOptions, intervention: (any Intervention)? = nil,
    perSequence: [(any Intervention)?]? = nil, streams: [Int]? = nil, progress: ((Int) -> Void)? = nil,
    onToken: ((Int, Int) -> Bool)? = nil
  ) throws -> [Generation] {
    guard !prompts.isEmpty else { return [] }
    for (i, p) in prompts.enumerated() where p.isEmpty { throw ModelError.emptyInput("prompt \(i) has no tokens") }
    let stops = options.stopTokens.union([tokenizer.endOfSequence])
    if let streams, streams.count != prompts.count {
      throw ModelError.invalidConfiguration("\(streams.count) stream indices for \(prompts.count) prompts")
    }
    if let perSequence, perSequence.count != prompts.count || intervention != nil {
      throw ModelError.invalidConfiguration("\(perSequence.count) interventions for \(prompts.count) prompts, or a shared one as well")
    }
    guard options.maxNewTokens > 0 else {
      return prompts.map { Generation(promptIDs: $0, ids: [], finishReason: .length, topLogProbabilities: []) }
    }
    var sequences = prompts.indices.map {
      DecodingSequence(
        prompt: prompts[$0], maxNewTokens: options.maxNewTokens, seed: options.sampling.seed, stream: streams?[$0] ?? $0, model: self)
    }
    var active = Array(prompts.indices)
    var chunks = prompts.indices.map { ForwardChunk(tokens: prompts[$0], cache: sequences[$0].cache, promptLength: prompts[$0].count) }
    var made = 0
    for _ in 0..<options.maxNewTokens {
      // A chunk's index in the batch changes as sequences finish; the routing follows `active`.
      let edit = perSequence.map { members in RoutedIntervention(active.map { members[$0] }) } ?? intervention
      let logits = try forward(chunks, logits: .last, intervention: edit)
      var stillActive: [Int] = []
      var next: [ForwardChunk] = []
      logits.storage.withUnsafeBufferPointer { lp in
        for (row, s) in active.enumerated() {
          let before = sequences[s].result.ids.count
          let token = sequences[s].advance(
            logits: lp.baseAddress! + row * logits.cols, count: logits.cols, sampling: options.sampling,
            logProbabilities: options.logProbabilities, stops: stops, onToken: onToken.map { f in { f(s, $0) } })
          made += sequences[s].result.ids.count - before
          if let token {
            stillActive.append(s)
            next.append(sequences[s].chunk(token))
          }
        }
      }
      progress?(made)
      active = stillActive
      chunks = next
      if active.isEmpty { break }
    }
    return sequences.map(\.result)
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
