import LM
import Store

extension ActivationReader {
  /// The capture's examples as teacher-forced sequences: the unprompted chat prompt of each
  /// instruction and the prompted response that was captured for it, the pairs on which
  /// steering is fitted and scored. `examples` picks some (default: all); responses with no
  /// tokens are kept, so that index e is example e.
  public func teacherForcedSequences(model: DecoderModel, examples: Range<Int>? = nil) throws -> [TeacherForcedSequence] {
    let chosen = examples ?? 0..<exampleCount
    let instructions = try self.instructions(chosen)
    let tokens = try self.tokens(tokenOffsets[chosen.lowerBound]..<tokenOffsets[chosen.upperBound])
    let first = tokenOffsets[chosen.lowerBound]
    return chosen.enumerated().map { i, e in
      TeacherForcedSequence(
        prompt: model.chatPrompt(user: instructions[i]),
        response: tokens[(tokenOffsets[e] - first)..<(tokenOffsets[e + 1] - first)].map(Int.init))
    }
  }
}
