import Foundation
import LM

/// A `POST /v1/chat/completions` body, checked field by field: a value the server cannot honour
/// is an error naming its parameter, never a silent default.
public struct ChatCompletionRequest: Equatable, Sendable {
  public var messages: [ChatMessage]
  public var maxTokens: Int
  public var temperature: Float
  public var seed: UInt64
  /// The extension field `"steering": [{"name": …, "factor": …}]`: steering files the server
  /// loaded, each times its factor (default 1); `[]` asks for none; nil leaves the server's default.
  public var steering: [(name: String, factor: Float)]?

  public static func == (a: Self, b: Self) -> Bool {
    a.messages == b.messages && a.maxTokens == b.maxTokens && a.temperature == b.temperature && a.seed == b.seed
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
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "seed", "stream", "n", "top_p", "user",
    "steering",
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
    messages = try Self.messages(fields["messages"])
    if case .bool(true) = fields["stream"] ?? .null { throw invalid("stream is not supported by this server; omit it", "stream") }
    if let n = fields["n"], case .integer(let count) = n, count != 1 { throw invalid("n must be 1", "n") }
    if let topP = fields["top_p"], !Self.isNull(topP), Self.number(topP) != 1 {
      throw invalid("top_p must be 1 (nucleus sampling is not supported here)", "top_p")
    }
    self.maxTokens = maxTokens
    for key in ["max_tokens", "max_completion_tokens"] {
      guard let value = fields[key], !Self.isNull(value) else { continue }
      guard case .integer(let n) = value, (1...max(1, contextLength)).contains(n) else {
        throw invalid("\(key) must be an integer in 1...\(contextLength) (the model's context)", key)
      }
      self.maxTokens = min(n, maxTokens)
    }
    temperature = 0
    if let value = fields["temperature"], !Self.isNull(value) {
      guard let t = Self.number(value), t.isFinite, (0...2).contains(t) else {
        throw invalid("temperature must be a number in [0, 2]", "temperature")
      }
      temperature = Float(t)
    }
    seed = 0
    if let value = fields["seed"], !Self.isNull(value) {
      guard case .integer(let s) = value, s >= 0 else { throw invalid("seed must be a non-negative integer", "seed") }
      seed = UInt64(s)
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
