/// Why an IFEval input could not be scored: each names the line and what to fix.
public enum IFEvalError: Error, CustomStringConvertible, Equatable {
  case unknownInstruction(String)
  case missingArgument(InstructionID, String, String)
  case mistypedArgument(InstructionID, String, String)
  case unexpectedArgument(InstructionID, String)
  case unsupportedPattern(InstructionID, String, String)
  case malformedLine(String)
  case unknownPrompt(String)
  case duplicatePrompt(String)
  case at(file: String, line: Int, IndirectError)

  public var description: String {
    switch self {
    case .unknownInstruction(let id):
      let ids = InstructionID.allCases.map(\.rawValue).joined(separator: ", ")
      return "unknown instruction id '\(id)' (IFEval's ids: \(ids))"
    case .missingArgument(let id, let name, let kind): return "\(id.rawValue) needs the kwarg \(name) (\(kind))"
    case .mistypedArgument(let id, let name, let kind): return "\(id.rawValue): the kwarg \(name) must be \(kind)"
    case .unexpectedArgument(let id, let name):
      let names = id.parameters.map(\.name)
      return "\(id.rawValue) takes no kwarg \(name) (it takes \(names.isEmpty ? "none" : names.joined(separator: ", ")))"
    case .unsupportedPattern(let id, let name, let value):
      return "\(id.rawValue): the kwarg \(name) '\(value)' holds a regular-expression character other than '.'; IFEval reads it as a pattern, and this scorer matches words"
    case .malformedLine(let why): return why
    case .unknownPrompt(let prompt):
      return "the response's prompt is not in the input data: '\(prompt.prefix(80))\(prompt.count > 80 ? "…" : "")'"
    case .duplicatePrompt(let prompt): return "the input data holds the prompt twice: '\(prompt.prefix(80))'"
    case .at(let file, let line, let e): return "\(file):\(line): \(e.error)"
    }
  }
}

/// Boxes an error inside `IFEvalError.at` (an enum cannot hold itself directly).
public final class IndirectError: Equatable, Sendable {
  public let error: IFEvalError
  init(_ error: IFEvalError) { self.error = error }
  public static func == (a: IndirectError, b: IndirectError) -> Bool { a.error == b.error }
}
