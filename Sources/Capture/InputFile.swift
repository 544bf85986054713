import Foundation
import LM

/// A line of an input file that could not be used.
public struct InputProblem: Sendable, Equatable, CustomStringConvertible {
  public var line: Int
  public var reason: String
  public var description: String { "line \(line): \(reason)" }
}

public enum CaptureError: Error, CustomStringConvertible, Equatable {
  case unreadable(String)
  case emptyPromptFile(String)
  case noInputs(String)
  case malformedInput(path: String, problem: InputProblem)
  case layerOutOfRange(Int, layerCount: Int)
  case inputsChanged(path: String, example: Int)
  case nonFiniteActivation(layer: Int, instruction: String)
  case perExamplePromptNotRecorded(instruction: String)

  public var description: String {
    switch self {
    case .unreadable(let path): "cannot read \(path)"
    case .emptyPromptFile(let path): "prompt file \(path) is empty; write the steering prompt in it"
    case .noInputs(let path): "\(path) holds no instructions"
    case .malformedInput(let path, let problem): "\(path): \(problem)"
    case .layerOutOfRange(let l, let n): "layer \(l) is outside 0..<\(n)"
    case .inputsChanged(let path, let e): "\(path): example \(e) differs from the one in the file being resumed; use --overwrite"
    case .nonFiniteActivation(let layer, let instruction):
      "the model's activations at layer \(layer) are not finite (NaN or infinite) for the instruction "
        + "\"\(instruction.prefix(60))\"; the model's weights or its configuration are broken"
    case .perExamplePromptNotRecorded(let instruction):
      "the input \"\(instruction.prefix(60))\" carries its own steering prompt, but this capture records one prompt for all; "
        + "set steeringPromptPerExample"
    }
  }
}

/// Reads capture inputs: JSON Lines with `instruction` (and optional `output`), or plain text
/// with one instruction per line. Malformed lines are returned as problems (or thrown when
/// `strict`).
public enum InputFile {
  public static func read(_ path: String, strict: Bool) throws -> (inputs: [CaptureInput], problems: [InputProblem]) {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CaptureError.unreadable(path) }
    if let questions = personaObject(text)?.questions {
      // A persona trait file: its questions are the instructions.
      guard !questions.isEmpty else { throw CaptureError.noInputs(path) }
      return (questions.map { CaptureInput(instruction: $0) }, [])
    }
    // isNewline: a Windows line end, "\r\n", is one Character that is not "\n".
    let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    let isJSON =
      lines.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }?.trimmingCharacters(in: .whitespaces).hasPrefix("{") ?? false
    var inputs: [CaptureInput] = []
    var problems: [InputProblem] = []
    guard isJSON else {
      for raw in lines {
        let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if !line.isEmpty { inputs.append(CaptureInput(instruction: line)) }
      }
      guard !inputs.isEmpty else { throw CaptureError.noInputs(path) }
      return (inputs, problems)
    }
    /// `instruction` (or, without one, `question`) and `output`, each taken when it is a string.
    struct Line: Decodable {
      var instruction: String?
      var output: String?
      enum CodingKeys: String, CodingKey { case instruction, question, output }
      init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        instruction = c.lenient(String.self, forKey: c.contains(.instruction) ? .instruction : .question)
        output = c.lenient(String.self, forKey: .output)
      }
    }
    for line in JSONLines.decode(Line.self, from: text) {
      let problem: InputProblem
      switch line.value {
      case .success(let l):
        if let instruction = l.instruction, !instruction.isEmpty {
          inputs.append(CaptureInput(instruction: instruction, output: l.output))
          continue
        }
        problem = InputProblem(line: line.number, reason: "needs a non-empty string field 'instruction'")
      case .failure:
        problem = InputProblem(line: line.number, reason: "not a JSON object")
      }
      if strict { throw CaptureError.malformedInput(path: path, problem: problem) }
      problems.append(problem)
    }
    guard !inputs.isEmpty else { throw CaptureError.noInputs(path) }
    return (inputs, problems)
  }

  /// The steering prompt: the file's text without surrounding whitespace; never empty.
  /// A persona trait file (JSON with `instruction` pairs) gives the `pos` text of pair `pair`.
  public static func readPrompt(_ path: String, pair: Int = 0) throws -> String {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CaptureError.unreadable(path) }
    if let pairs = personaObject(text)?.instruction {
      guard pairs.indices.contains(pair), let pos = pairs[pair]["pos"], !pos.isEmpty else {
        throw CaptureError.emptyPromptFile("\(path) (instruction pair \(pair))")
      }
      return pos
    }
    let prompt = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !prompt.isEmpty else { throw CaptureError.emptyPromptFile(path) }
    return prompt
  }

  /// A persona trait file's fields (each nil unless of its type); nil for a file that is not one JSON object.
  private struct PersonaFields: Decodable {
    var questions: [String]?
    var instruction: [[String: String]]?
    enum CodingKeys: String, CodingKey { case questions, instruction }
    init(from decoder: any Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      questions = c.lenient([String].self, forKey: .questions)
      instruction = c.lenient([[String: String]].self, forKey: .instruction)
    }
  }

  private static func personaObject(_ text: String) -> PersonaFields? {
    guard text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("{"), !text.contains("\n{") else { return nil }
    return try? JSONDecoder().decode(PersonaFields.self, from: Data(text.utf8))
  }
}
