import Foundation
import Tensor

extension LlamaModel {
  /// log p(yₜ | x, y<ₜ) for every response token of every sequence, in one packed pass
  /// (optionally steered). Sequences with an empty response get an empty list.
  public func responseLogProbabilities(
    _ sequences: [TeacherForcedSequence], intervention: (any Intervention)? = nil
  ) throws -> [[Float]] {
    let scored = sequences.indices.filter { !sequences[$0].response.isEmpty && !sequences[$0].prompt.isEmpty }
    var result = [[Float]](repeating: [], count: sequences.count)
    guard !scored.isEmpty else { return result }
    let chunks = scored.map { i in
      ForwardChunk(
        tokens: sequences[i].prompt + sequences[i].response,
        cache: makeCache(capacity: sequences[i].prompt.count + sequences[i].response.count),
        promptLength: sequences[i].prompt.count)
    }
    let logits = try forward(chunks, logits: .all, intervention: intervention)
    var offset = 0
    logits.storage.withUnsafeBufferPointer { p in
      for i in scored {
        let s = sequences[i]
        result[i] = s.response.enumerated().map { t, token in
          let row = p.baseAddress! + (offset + s.prompt.count - 1 + t) * logits.cols
          return row[token] - Kernels.logSumExp(row, count: logits.cols)
        }
        offset += s.prompt.count + s.response.count
      }
    }
    return result
  }
}
