import Foundation
import LM

/// A `POST /v1/chat/completions` body, checked field by field: a value the server cannot honour
/// is an error naming its parameter, never a silent default.
public struct ChatCompletionRequest: Equatable, Sendable {
  /// The conversation (`/v1/chat/completions`); empty for a plain prompt.
  public var messages: [ChatMessage]
  /// The text to continue (`/v1/completions`); nil for a chat.
  public var prompt: String?
  public var maxTokens: Int
  /// OpenAI's default is 1.
  public var temperature: Float
  public var topP: Float
  /// The request's seed, or a fresh one (sampling without a seed is not repeated).
  public var seed: UInt64
  /// Completions per request (`n`).
  public var count: Int
  /// Strings that end a completion (not included in it).
  public var stop: [String]
  /// Log-probabilities of each token, with this many alternatives (`logprobs`, `top_logprobs`).
  public var logProbabilities: Bool
  public var topLogProbabilities: Int
  public var stream: Bool
  /// `stream_options.include_usage`: a last chunk with the token counts.
  public var streamUsage: Bool
  /// The extension field `"steering": [{"name": …, "factor": …}]`: steering files the server
  /// loaded, each times its factor (default 1); `[]` asks for none; nil leaves the server's default.
  public var steering: [(name: String, factor: Float)]?

  public static func == (a: Self, b: Self) -> Bool {
    a.messages == b.messages && a.prompt == b.prompt && a.maxTokens == b.maxTokens && a.temperature == b.temperature
      && a.seed == b.seed && a.count == b.count && a.stop == b.stop && a.stream == b.stream && a.topP == b.topP
      && a.steering.map { $0.map { "\($0.name):\($0.factor)" } } == b.steering.map { $0.map { "\($0.name):\($0.factor)" } }
  }

  /// Why a body was refused: the message and the parameter at fault (OpenAI's `param`).
  public struct Invalid: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var param: String?
    public var description: String { message }

    public init(message: String, param: String?) {
      self.message = message
      self.param = param
    }
  }

  /// The parameters understood; any other is refused by name.
  static let known: Set<String> = [
    "model", "messages", "prompt", "max_tokens", "max_completion_tokens", "temperature", "seed", "stream", "stream_options", "n",
    "top_p", "user", "stop", "logprobs", "top_logprobs", "steering",
  ]

  /// - Parameters:
  ///   - maxTokens: the server's largest (and default) number of new tokens; a request for more
  ///     gets this many, as OpenAI caps at the model's limit.
  ///   - contextLength: the most any request may name; beyond it is an error.
  public init(body: Data, maxTokens: Int, contextLength: Int = 1 << 20) throws(Invalid) {
    func invalid(_ message: String, _ param: String?) -> Invalid { Invalid(message: message, param: param) }
    let json: ExactJSON
    do { json = try ExactJSON.parse([UInt8](body), maxDepth: 32) } catch { throw invalid("the body is not JSON: \(error)", nil) }
    guard let members = json.members else { throw invalid("the body must be a JSON object", nil) }
    var fields: [String: ExactJSON] = [:]
    for (key, value) in members {
      guard Self.known.contains(key) else { throw invalid("parameter '\(key)' is not supported by this server", key) }
      fields[key] = value
    }
    if let value = fields["prompt"] {
      guard case .string(let text) = value else { throw invalid("prompt must be a string", "prompt") }
      prompt = text
      messages = []
    } else {
      prompt = nil
      messages = try Self.messages(fields["messages"])
    }
    stream = try Self.flag(fields["stream"], "stream")
    streamUsage = false
    if let options = fields["stream_options"], !Self.isNull(options) {
      guard let members = options.members, members.allSatisfy({ $0.key == "include_usage" }) else {
        throw invalid("stream_options may hold include_usage only", "stream_options")
      }
      streamUsage = try Self.flag(members.first?.value, "stream_options")
    }
    count = try Self.integer(fields["n"], "n", in: 1...8) ?? 1
    topP = 1
    if let value = fields["top_p"], !Self.isNull(value) {
      guard let p = Self.number(value), p > 0, p <= 1 else { throw invalid("top_p must be a number in (0, 1]", "top_p") }
      topP = Float(p)
    }
    self.maxTokens = maxTokens
    for key in ["max_tokens", "max_completion_tokens"] {
      if let n = try Self.integer(fields[key], key, in: 1...max(1, contextLength)) { self.maxTokens = min(n, maxTokens) }
    }
    temperature = 1
    if let value = fields["temperature"], !Self.isNull(value) {
      guard let t = Self.number(value), t.isFinite, (0...2).contains(t) else {
        throw invalid("temperature must be a number in [0, 2]", "temperature")
      }
      temperature = Float(t)
    }
    if let s = try Self.integer(fields["seed"], "seed", in: 0...Int.max) {
      seed = UInt64(s)
    } else {
      var random = SystemRandomNumberGenerator()
      seed = random.next()
    }
    stop = try Self.stops(fields["stop"])
    logProbabilities = try Self.flag(fields["logprobs"], "logprobs")
    topLogProbabilities = try Self.integer(fields["top_logprobs"], "top_logprobs", in: 0...20) ?? 0
    if topLogProbabilities > 0 && !logProbabilities { throw invalid("top_logprobs needs logprobs: true", "top_logprobs") }
    steering = try Self.steering(fields["steering"])
  }

  private static func steering(_ value: ExactJSON?) throws(Invalid) -> [(name: String, factor: Float)]? {
    guard let value, !isNull(value) else { return nil }
    let wrong = Invalid(message: "steering must be a list of {\"name\": string, \"factor\": number}", param: "steering")
    guard case .array(let items) = value else { throw wrong }
    var out: [(name: String, factor: Float)] = []
    for item in items {
      let fields = Dictionary((item.members ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
      guard case .string(let name) = fields["name"] ?? .null, !name.isEmpty else { throw wrong }
      var factor: Float = 1
      if let f = fields["factor"], !isNull(f) {
        guard let d = number(f), d.isFinite, abs(d) <= 1e6 else { throw wrong }
        factor = Float(d)
      }
      out.append((name, factor))
    }
    return out
  }

  private static func flag(_ value: ExactJSON?, _ param: String) throws(Invalid) -> Bool {
    switch value ?? .null {
    case .null: return false
    case .bool(let b): return b
    default: throw Invalid(message: "\(param) must be true or false", param: param)
    }
  }

  private static func integer(_ value: ExactJSON?, _ param: String, in range: ClosedRange<Int>) throws(Invalid) -> Int? {
    guard let value, !isNull(value) else { return nil }
    guard case .integer(let n) = value, range.contains(n) else {
      throw Invalid(message: "\(param) must be an integer in \(range.lowerBound)...\(range.upperBound)", param: param)
    }
    return n
  }

  /// `stop`: a string or up to four, none empty.
  private static func stops(_ value: ExactJSON?) throws(Invalid) -> [String] {
    let wrong = Invalid(message: "stop must be a non-empty string or a list of up to 4 of them", param: "stop")
    switch value ?? .null {
    case .null: return []
    case .string(let s):
      guard !s.isEmpty else { throw wrong }
      return [s]
    case .array(let items):
      guard items.count <= 4 else { throw wrong }
      return try items.map { item throws(Invalid) in
        guard case .string(let s) = item, !s.isEmpty else { throw wrong }
        return s
      }
    default: throw wrong
    }
  }

  private static func isNull(_ value: ExactJSON) -> Bool {
    if case .null = value { return true }
    return false
  }

  private static func number(_ value: ExactJSON) -> Double? {
    switch value {
    case .integer(let i): Double(i)
    case .number(let d): d
    default: nil
    }
  }

  /// Messages with a role (system, developer as system, user, assistant) and content (a string, or a
  /// list of `{"type": "text", "text": …}` parts).
  private static func messages(_ value: ExactJSON?) throws(Invalid) -> [ChatMessage] {
    guard case .array(let items) = value ?? .null, !items.isEmpty else {
      throw Invalid(message: "messages must be a non-empty array", param: "messages")
    }
    var out: [ChatMessage] = []
    for (i, item) in items.enumerated() {
      let fields = Dictionary((item.members ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
      guard case .string(let roleName) = fields["role"] ?? .null,
        let role = roleName == "developer" ? .system : ChatMessage.Role(rawValue: roleName)
      else {
        throw Invalid(message: "messages[\(i)].role must be system, developer, user or assistant", param: "messages")
      }
      var content = ""
      switch fields["content"] ?? .null {
      case .string(let s): content = s
      case .array(let parts):
        for part in parts {
          let p = Dictionary((part.members ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
          guard case .string("text") = p["type"] ?? .null, case .string(let text) = p["text"] ?? .null else {
            throw Invalid(message: "messages[\(i)].content parts must be {\"type\": \"text\", \"text\": …}", param: "messages")
          }
          content += text
        }
      default: throw Invalid(message: "messages[\(i)].content must be a string or a list of text parts", param: "messages")
      }
      out.append(ChatMessage(role: role, content: content))
    }
    return out
  }
}
