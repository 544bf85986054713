import LM

/// Which tokens an additive vector is applied to.
///
/// Written as in the PrOSV paper: `all`, `response`, or a prompt selection such as `p2+s2`
/// (the first 2 and last 2 tokens of the templated prompt), `p4`, `s1`.
public enum PositionSet: Equatable, Sendable, Codable, CustomStringConvertible {
  /// Every token, prompt and response (FSSV).
  case all
  /// Only response tokens, teacher-forced or generated.
  case response
  /// The first `prefix` and last `suffix` tokens of the prompt, never a response token (PrOSV).
  case prompt(prefix: Int, suffix: Int)

  public func contains(_ role: TokenRole) -> Bool {
    switch (self, role) {
    case (.all, _): true
    case (.response, .response): true
    case (.response, .prompt): false
    case (.prompt, .response): false
    case (.prompt(let p, let s), .prompt(let index, let length)): index < p || length - 1 - index < s
    }
  }

  /// Whether any generated token is touched (if not, decoding pays nothing).
  public var touchesResponse: Bool { self != .prompt(prefix: 0, suffix: 0) && !isPromptOnly }

  private var isPromptOnly: Bool {
    if case .prompt = self { return true }
    return false
  }

  public var description: String {
    switch self {
    case .all: "all"
    case .response: "response"
    case .prompt(let p, let s):
      [p > 0 ? "p\(p)" : nil, s > 0 ? "s\(s)" : nil].compactMap { $0 }.joined(separator: "+")
    }
  }

  /// Parses `all`, `response`, or `pN`, `sN`, `pN+sM`.
  public init(parsing text: String) throws {
    switch text {
    case "all": self = .all
    case "response": self = .response
    default:
      var p = 0
      var s = 0
      for part in text.split(separator: "+") {
        guard let kind = part.first, let n = Int(part.dropFirst()), n >= 0 else {
          throw SteeringError.invalidPositions(text)
        }
        switch kind {
        case "p": p = n
        case "s": s = n
        default: throw SteeringError.invalidPositions(text)
        }
      }
      guard p + s > 0 else { throw SteeringError.invalidPositions(text) }
      self = .prompt(prefix: p, suffix: s)
    }
  }

  public init(from decoder: any Decoder) throws {
    try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}
