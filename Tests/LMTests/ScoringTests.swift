import LM
import Tensor
import TestSupport
import XCTest

/// Teacher-forced log-probabilities must equal log-softmax of the full forward pass's logits at
/// the response tokens, whether or not sequences share a prompt.
final class ScoringTests: XCTestCase {
  /// log softmax(logits of row r)[token], in Double, from `forward(…, logits: .all)` of one sequence.
  private func expected(_ model: DecoderModel, _ s: TeacherForcedSequence) throws -> [Double] {
    let ids = s.prompt + s.response
    let logits = try model.forward([ForwardChunk(tokens: ids, cache: model.makeCache(), promptLength: s.prompt.count)], logits: .all)
    return s.response.enumerated().map { t, token in
      let row = logits.row(s.prompt.count - 1 + t).map(Double.init)
      let top = row.max()!
      return row[token] - top - log(row.reduce(0) { $0 + exp($1 - top) })
    }
  }

  private func assertMatches(_ got: [[Float]], _ sequences: [TeacherForcedSequence], _ model: DecoderModel) throws {
    XCTAssertEqual(got.map(\.count), sequences.map(\.response.count))
    for (lp, s) in zip(got, sequences) {
      for (a, b) in zip(lp, try expected(model, s)) { XCTAssertEqual(Double(a), b, accuracy: 2e-3) }
    }
  }

  func testSharedPromptsMatchFullLogSoftmax() throws {
    let model = try Fixtures.model()
    let a = model.chatPrompt(user: "Name three colours.")
    let b = model.chatPrompt(user: "What is the capital of France?")
    let sequences = [
      TeacherForcedSequence(prompt: a, response: model.tokenizer.encode("Red, green and blue.", parseSpecial: false)),
      TeacherForcedSequence(prompt: b, response: model.tokenizer.encode("Paris.", parseSpecial: false)),
      TeacherForcedSequence(prompt: a, response: model.tokenizer.encode("Cyan", parseSpecial: false).prefix(1).map { $0 }),
      TeacherForcedSequence(prompt: a, response: []),
      TeacherForcedSequence(prompt: a, response: model.tokenizer.encode("Purple, orange, teal and a long tail.", parseSpecial: false)),
    ]
    let got = try model.responseLogProbabilities(sequences)
    XCTAssertEqual(got[3], [])
    try assertMatches(got, sequences, model)
  }

  func testDistinctPromptsMatchFullLogSoftmax() throws {
    let model = try Fixtures.model()
    let sequences = ["Name a fruit.", "Name a tree."].map {
      TeacherForcedSequence(
        prompt: model.chatPrompt(user: $0), response: model.tokenizer.encode("An apple, of course.", parseSpecial: false))
    }
    try assertMatches(try model.responseLogProbabilities(sequences), sequences, model)
  }
}
