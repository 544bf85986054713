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

  /// The largest count a prompt selection may name: far beyond any context, and small enough
  /// that `prefix + suffix` cannot overflow.
  public static let largestCount = 1_000_000

  /// Parses `all`, `response`, or `pN`, `sN`, `pN+sM` (either order), exactly: each part is `p` or
  /// `s` and 1–7 ASCII digits, each at most once, no empty part (`p2+` is refused), and not both
  /// zero. `description` prints the canonical form, which parses to the same value.
  public init(parsing text: String) throws {
    switch text {
    case "all": self = .all
    case "response": self = .response
    default:
      var p: Int?
      var s: Int?
      for part in text.utf8.split(separator: UInt8(ascii: "+"), omittingEmptySubsequences: false) {
        guard let kind = part.first, (kind == UInt8(ascii: "p") || kind == UInt8(ascii: "s")) else {
          throw SteeringError.invalidPositions(text)
        }
        let digits = part.dropFirst()
        guard (1...7).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
          throw SteeringError.invalidPositions(text)
        }
        let n = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard n <= Self.largestCount else { throw SteeringError.invalidPositions(text) }
        if kind == UInt8(ascii: "p") {
          guard p == nil else { throw SteeringError.invalidPositions(text) }
          p = n
        } else {
          guard s == nil else { throw SteeringError.invalidPositions(text) }
          s = n
        }
      }
      guard (p ?? 0) + (s ?? 0) > 0 else { throw SteeringError.invalidPositions(text) }
      self = .prompt(prefix: p ?? 0, suffix: s ?? 0)
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
