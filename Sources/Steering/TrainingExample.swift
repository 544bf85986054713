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
    /// A line: the two strings it must have, `label` and `concept_id` taken only when of their type
    /// (AxBench's files), and `rejected`, which must be a string when present.
    struct Line: Decodable {
      var instruction: String
      var output: String
      var label: String?
      var conceptID: Int?
      var rejected: Result<String?, JSONLines.Failure>
      enum CodingKeys: String, CodingKey { case instruction, output, label, conceptID = "concept_id", rejected }
      init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        instruction = try c.decode(String.self, forKey: .instruction)
        output = try c.decode(String.self, forKey: .output)
        label = c.lenient(String.self, forKey: .label)
        conceptID = c.lenient(Int.self, forKey: .conceptID)
        rejected = c.contains(.rejected)
          ? (try? c.decode(String.self, forKey: .rejected)).map { .success($0) } ?? .failure(JSONLines.Failure(reason: "rejected must be a string"))
          : .success(nil)
      }
    }
    var examples: [TrainingExample] = []
    for line in JSONLines.decode(Line.self, from: text) {
      guard case .success(let l) = line.value else {
        throw DataError.malformedLine(path: path, line: line.number, reason: "needs string fields instruction and output")
      }
      if let label = l.label, label != "positive" { continue }
      if let conceptID, l.conceptID != conceptID { continue }
      let rejected: String?
      do { rejected = try l.rejected.get() } catch { throw DataError.malformedLine(path: path, line: line.number, reason: error.reason) }
      examples.append(TrainingExample(instruction: l.instruction, output: l.output, rejected: rejected))
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
