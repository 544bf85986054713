import Foundation
import LM

/// A `POST /v1/chat/completions` body, checked field by field: a value the server cannot honour
/// is an error naming its parameter, never a silent default.
public struct ChatCompletionRequest: Equatable, Sendable {
  /// One prompt of `/v1/completions`: text, or token ids of the model's own tokenizer.
  public enum CompletionPrompt: Equatable, Sendable {
    case text(String)
    case tokens([Int])
  }

  /// The conversation (`/v1/chat/completions`); empty for a plain prompt.
  public var messages: [ChatMessage]
  /// The prompts to continue (`/v1/completions`: a string, a list of strings, a list of token ids,
  /// or a list of such lists, as OpenAI's legacy API and lm-eval send them); empty for a chat.
  public var prompts: [CompletionPrompt]
  /// The one text prompt, where the request sent a single string; nil otherwise.
  public var prompt: String? {
    if prompts.count == 1, case .text(let text) = prompts[0] { return text }
    return nil
  }
  /// `echo` (`/v1/completions`): each answer starts with its prompt, every prompt token scored.
  public var echo: Bool
  /// The most prompts one completions request may carry.
  public static let maxPrompts = 64
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
    a.messages == b.messages && a.prompts == b.prompts && a.echo == b.echo && a.maxTokens == b.maxTokens && a.temperature == b.temperature
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
    "top_p", "user", "stop", "logprobs", "top_logprobs", "steering", "echo",
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
    let completion = fields["prompt"] != nil
    if let value = fields["prompt"] {
      prompts = try Self.prompts(value)
      messages = []
    } else {
      prompts = []
      messages = try Self.messages(fields["messages"])
    }
    echo = try Self.flag(fields["echo"], "echo")
    if echo && !completion { throw invalid("echo belongs to /v1/completions (a prompt), not to messages", "echo") }
    stream = try Self.flag(fields["stream"], "stream")
    streamUsage = false
    if let options = fields["stream_options"], !Self.isNull(options) {
      guard let members = options.members, members.allSatisfy({ $0.key == "include_usage" }) else {
        throw invalid("stream_options may hold include_usage only", "stream_options")
      }
      // Named by its field, as a client sets it: "stream_options must be true or false" read as if the object were wrong.
      do { streamUsage = try Self.flag(members.first?.value, "stream_options") } catch {
        throw invalid("stream_options.include_usage must be true or false", "stream_options")
      }
    }
    count = try Self.integer(fields["n"], "n", in: 1...8) ?? 1
    topP = 1
    if let value = fields["top_p"], !Self.isNull(value) {
      guard let p = Self.number(value), p > 0, p <= 1 else { throw invalid("top_p must be a number in (0, 1]", "top_p") }
      topP = Float(p)
    }
    self.maxTokens = maxTokens
    // A completion may ask for no new token at all (lm-eval scores an echoed prompt so).
    for key in ["max_tokens", "max_completion_tokens"] {
      if let n = try Self.integer(fields[key], key, in: (completion ? 0 : 1)...max(1, contextLength)) {
        self.maxTokens = min(n, maxTokens)
      }
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
    if completion, case .integer(let n) = fields["logprobs"] ?? .null {
      // OpenAI's legacy completions: logprobs is the number of alternatives, 0 to 5.
      guard (0...5).contains(n) else { throw invalid("logprobs must be an integer in 0...5 (or true or false)", "logprobs") }
      guard fields["top_logprobs"].map(Self.isNull) ?? true else {
        throw invalid("top_logprobs goes with logprobs: true; an integer logprobs already counts the alternatives", "top_logprobs")
      }
      logProbabilities = true
      topLogProbabilities = n
    } else {
      logProbabilities = try Self.flag(fields["logprobs"], "logprobs", completion: completion)
      topLogProbabilities = try Self.integer(fields["top_logprobs"], "top_logprobs", in: 0...20) ?? 0
      if topLogProbabilities > 0 && !logProbabilities { throw invalid("top_logprobs needs logprobs: true", "top_logprobs") }
    }
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

  private static func flag(_ value: ExactJSON?, _ param: String, completion: Bool = false) throws(Invalid) -> Bool {
    switch value ?? .null {
    case .null: return false
    case .bool(let b): return b
    default:
      throw Invalid(message: "\(param) must be true or false\(completion ? " (or, for logprobs, an integer in 0...5)" : "")", param: param)
    }
  }

  /// `prompt`: a string, a non-empty list of strings, a non-empty list of token ids, or a non-empty
  /// list of non-empty lists of token ids; at most `maxPrompts` prompts.
  private static func prompts(_ value: ExactJSON) throws(Invalid) -> [CompletionPrompt] {
    let wrong = Invalid(
      message: "prompt must be a string, a list of strings, a list of token ids, or a list of lists of token ids (none empty, at most \(maxPrompts))",
      param: "prompt")
    func ids(_ items: [ExactJSON]) throws(Invalid) -> [Int] {
      guard !items.isEmpty else { throw wrong }
      return try items.map { item throws(Invalid) in
        guard case .integer(let id) = item, id >= 0 else { throw wrong }
        return id
      }
    }
    switch value {
    case .string(let text): return [.text(text)]
    case .array(let items):
      guard let first = items.first else { throw wrong }
      switch first {
      case .integer: return [.tokens(try ids(items))]
      case .string:
        guard items.count <= maxPrompts else { throw wrong }
        return try items.map { item throws(Invalid) in
          guard case .string(let text) = item else { throw wrong }
          return .text(text)
        }
      case .array:
        guard items.count <= maxPrompts else { throw wrong }
        return try items.map { item throws(Invalid) in
          guard case .array(let inner) = item else { throw wrong }
          return .tokens(try ids(inner))
        }
      default: throw wrong
      }
    default: throw wrong
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
