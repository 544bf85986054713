import Foundation
import LM

/// An (instruction, response) pair read from JSON Lines.
public struct TrainingExample: Codable, Equatable, Sendable {
  public var instruction: String
  public var output: String
  /// A dispreferred answer to the same instruction (SimPO's rejected response), when the file has one.
  public var rejected: String?

  public init(instruction: String, output: String, rejected: String? = nil) {
    self.instruction = instruction
    self.output = output
    self.rejected = rejected
  }

  /// Reads `{"instruction": …, "output": …}` lines (and an optional string `rejected`). Lines with a `label` other than
  /// `positive` are skipped, and so are lines whose `concept_id` differs from `conceptID`
  /// when one is given (AxBench files mix concepts and negatives).
  public static func load(jsonLines path: String, conceptID: Int? = nil) throws -> [TrainingExample] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw DataError.unreadable(path)
    }
    var examples: [TrainingExample] = []
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty { continue }
      guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any],
        let instruction = object["instruction"] as? String, let output = object["output"] as? String
      else { throw DataError.malformedLine(path: path, line: i + 1, reason: "needs string fields instruction and output") }
      if let label = object["label"] as? String, label != "positive" { continue }
      if let conceptID, (object["concept_id"] as? Int) != conceptID { continue }
      if object["rejected"] != nil, !(object["rejected"] is String) {
        throw DataError.malformedLine(path: path, line: i + 1, reason: "rejected must be a string")
      }
      examples.append(TrainingExample(instruction: instruction, output: output, rejected: object["rejected"] as? String))
    }
    guard !examples.isEmpty else { throw DataError.empty(path) }
    return examples
  }

  /// The chat-templated prompt and the response tokens (at most `maxResponseTokens`).
  public func tokenized(for model: DecoderModel, maxResponseTokens: Int) -> TeacherForcedSequence {
    TeacherForcedSequence(
      prompt: model.chatPrompt(user: instruction),
      response: Array(model.tokenizer.encode(output, parseSpecial: false).prefix(maxResponseTokens)))
  }
}

public enum DataError: Error, CustomStringConvertible, Equatable {
  case unreadable(String)
  case empty(String)
  case malformedLine(path: String, line: Int, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let path): "cannot read \(path)"
    case .empty(let path): "\(path) holds no usable examples"
    case .malformedLine(let path, let line, let reason): "\(path):\(line): \(reason)"
    }
  }
}
