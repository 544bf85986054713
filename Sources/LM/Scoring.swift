import Foundation
import Tensor

extension DecoderModel {
  /// Rows of the output head computed at once when scoring: enough for the products to run at
  /// full speed, few enough that the logits stay at 25 MB for a 49k vocabulary instead of one
  /// row per packed token.
  static let scoringBlockRows = 128

  /// log p(yₜ | x, y<ₜ) for every response token of every sequence, in one packed pass
  /// (optionally steered). Sequences with an empty response get an empty list.
  ///
  /// Only the rows that predict a response token go through the output head, a block at a
  /// time, and log-softmax is evaluated at the target token alone: yₜ's logit minus the row's
  /// log-sum-exp. Unsteered, sequences that share a prompt share its prefill (a judge scores
  /// each instruction's responses at many factors); the result equals the unshared pass up
  /// to summation order.
  public func responseLogProbabilities(
    _ sequences: [TeacherForcedSequence], intervention: (any Intervention)? = nil
  ) throws -> [[Float]] {
    let scored = sequences.indices.filter { !sequences[$0].response.isEmpty && !sequences[$0].prompt.isEmpty }
    var result = [[Float]](repeating: [], count: sequences.count)
    guard !scored.isEmpty else { return result }
    if intervention == nil, Set(scored.map { sequences[$0].prompt }).count < scored.count {
      for (i, lp) in zip(scored, try sharedPromptLogProbabilities(scored.map { sequences[$0] })) { result[i] = lp }
      return result
    }
    let chunks = scored.map { i in
      ForwardChunk(
        tokens: sequences[i].prompt + sequences[i].response,
        cache: makeCache(capacity: sequences[i].prompt.count + sequences[i].response.count),
        promptLength: sequences[i].prompt.count)
    }
    let (hidden, _) = try hiddenStates(chunks, intervention: intervention, trace: nil, prefix: nil)
    // For every response token: the packed row whose logits predict it, and the token.
    var rows: [Int] = []
    var targets: [Int] = []
    var offset = 0
    for i in scored {
      let s = sequences[i]
      for (t, token) in s.response.enumerated() {
        rows.append(offset + s.prompt.count - 1 + t)
        targets.append(token)
      }
      offset += s.prompt.count + s.response.count
    }
    let logProbabilities = targetLogProbabilities(hidden, rows: rows, targets: targets)
    var next = 0
    for i in scored {
      result[i] = Array(logProbabilities[next..<(next + sequences[i].response.count)])
      next += sequences[i].response.count
    }
    return result
  }

  /// Every token of a text scored by the model, as OpenAI's legacy completions echo it: for t in
  /// 1..<tokens.count, log p(tokens[t] | tokens[<t]) and the `top` most likely tokens at t with their
  /// log-probabilities (best first, the lower id first on ties, as `Sampler.topLogProbabilities`),
  /// optionally steered, the whole text being the prompt for the hook's positions. The first token
  /// has no prediction, so each list holds tokens.count − 1 entries.
  public func promptLogProbabilities(
    _ tokens: [Int], top: Int, intervention: (any Intervention)? = nil
  ) throws -> (logProbabilities: [Float], top: [[(id: Int, logProbability: Float)]]) {
    guard tokens.count > 1 else { return ([], []) }
    let chunk = ForwardChunk(tokens: tokens, cache: makeCache(capacity: tokens.count), promptLength: tokens.count)
    let (hidden, _) = try hiddenStates([chunk], intervention: intervention, trace: nil, prefix: nil)
    let vocabulary = configuration.vocabularySize
    var logProbabilities = [Float](repeating: 0, count: tokens.count - 1)
    var alternatives = [[(id: Int, logProbability: Float)]](repeating: [], count: tokens.count - 1)
    logProbabilities.withUnsafeMutableBufferPointer { lp in
      alternatives.withUnsafeMutableBufferPointer { alt in
        visitLogitRows(hidden, rows: Array(0..<(tokens.count - 1))) { j, row in
          lp[j] = row[tokens[j + 1]] - Kernels.logSumExp(row, count: vocabulary)
          if top > 0 { alt[j] = Sampler.topLogProbabilities(row, count: vocabulary, k: top) }
        }
      }
    }
    return (logProbabilities, alternatives)
  }

  /// `responseLogProbabilities` for non-empty sequences, unsteered: one pass over the distinct
  /// prompts, whose last rows predict each response's first token, then one over the responses
  /// (all but their last token) on copies of their prompt's cache.
  private func sharedPromptLogProbabilities(_ sequences: [TeacherForcedSequence]) throws -> [[Float]] {
    var promptIndex: [[Int]: Int] = [:]
    var prompts: [[Int]] = []
    for s in sequences where promptIndex[s.prompt] == nil {
      promptIndex[s.prompt] = prompts.count
      prompts.append(s.prompt)
    }
    let longest = sequences.map(\.response.count).max() ?? 0
    let promptChunks = prompts.map {
      ForwardChunk(tokens: $0, cache: makeCache(capacity: $0.count + longest), promptLength: $0.count)
    }
    let (promptHidden, promptBatch) = try hiddenStates(promptChunks, intervention: nil, trace: nil, prefix: nil)
    let firsts = targetLogProbabilities(
      promptHidden, rows: sequences.map { promptBatch.chunkRanges[promptIndex[$0.prompt]!].upperBound - 1 },
      targets: sequences.map { $0.response[0] })
    let continued = sequences.indices.filter { sequences[$0].response.count > 1 }
    var rest: [Float] = []
    if !continued.isEmpty {
      let chunks = continued.map { i in
        ForwardChunk(
          tokens: Array(sequences[i].response.dropLast()), cache: promptChunks[promptIndex[sequences[i].prompt]!].cache.copy(),
          promptLength: sequences[i].prompt.count)
      }
      let (hidden, batch) = try hiddenStates(chunks, intervention: nil, trace: nil, prefix: nil)
      rest = targetLogProbabilities(
        hidden, rows: Array(0..<batch.rows), targets: continued.flatMap { sequences[$0].response.dropFirst() })
    }
    var out = sequences.indices.map { [firsts[$0]] }
    var next = 0
    for i in continued {
      out[i] += rest[next..<(next + sequences[i].response.count - 1)]
      next += sequences[i].response.count - 1
    }
    return out
  }

  /// log softmax(logits of `hidden[rows[j]]`)[targets[j]] for every j.
  func targetLogProbabilities(_ hidden: Matrix, rows: [Int], targets: [Int]) -> [Float] {
    let vocabulary = configuration.vocabularySize
    var out = [Float](repeating: 0, count: rows.count)
    out.withUnsafeMutableBufferPointer { o in
      visitLogitRows(hidden, rows: rows) { j, row in o[j] = row[targets[j]] - Kernels.logSumExp(row, count: vocabulary) }
    }
    return out
  }

  /// `body(j, logits)` for every j, with the logits of `hidden[rows[j]]` (vocabulary floats): the
  /// output head runs a block of `scoringBlockRows` rows at a time, and each block's rows are visited
  /// on all cores, so `body` must write only what belongs to its j.
  private func visitLogitRows(_ hidden: Matrix, rows: [Int], _ body: (Int, UnsafePointer<Float>) -> Void) {
    let vocabulary = configuration.vocabularySize
    var block = Matrix(rows: min(Self.scoringBlockRows, rows.count), cols: vocabulary)
    for start in stride(from: 0, to: rows.count, by: Self.scoringBlockRows) {
      let end = min(rows.count, start + Self.scoringBlockRows)
      if end - start != block.rows { block = Matrix(rows: end - start, cols: vocabulary) }
      logits(of: hidden, rows: Array(rows[start..<end]), into: &block)
      block.storage.withUnsafeBufferPointer { p in
        Parallel.rows(end - start, minimumRows: 16) { range in
          for r in range { body(start + r, p.baseAddress! + r * vocabulary) }
        }
      }
    }
  }
}
