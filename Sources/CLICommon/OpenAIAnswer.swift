import Foundation

/// The server's answers in OpenAI's (and vLLM's) wire shapes, as Codable types: the request side is
/// ``ChatCompletionRequest``. Keys are snake_case as OpenAI spells them, written in sorted order.
///
/// OpenAI writes some absent values as an explicit `null` (`finish_reason` until a choice ends,
/// `logprobs` when none were asked for, an error's `param`), and clients index them without
/// checking that the key exists; Swift's synthesized encoding would leave them out. Those fields
/// are ``JSONField`` values, which say which of the three a key is: left out, null, or a value.
public enum OpenAIAnswer {
  /// The bytes of `answer`, keys sorted (as the answers were before they were types).
  public static func encode(_ answer: some Encodable) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    // Every answer is built from strings, integers and finite numbers; an encoding failure would be
    // a bug, answered as an empty body rather than a crash.
    return (try? encoder.encode(answer)) ?? Data()
  }

  /// `/v1/models` and `/v1/models/ID`.
  public struct Model: Encodable, Sendable {
    public var id: String
    public var object = "model"
    public var created = 0
    public var ownedBy = "psr"
    public init(id: String) { self.id = id }
    enum CodingKeys: String, CodingKey { case id, object, created, ownedBy = "owned_by" }
  }

  /// `{"object": "list", "data": [...]}`.
  public struct List<Item: Encodable & Sendable>: Encodable, Sendable {
    public var object = "list"
    public var data: [Item]
    public init(_ data: [Item]) { self.data = data }
  }

  /// `/health`.
  public struct Health: Encodable, Sendable {
    public var status = "ok"
    public init() {}
  }

  /// One file of `/v1/steering`: its kind, the layers it touches, the factor a request gets when
  /// it names no steering (null: not applied by default), and its trained α.
  public struct SteeringEntry: Encodable, Sendable {
    public var name: String
    public var kind: String
    public var layers: [Int]
    public var defaultFactor: Double?
    public var alpha: Double
    public init(name: String, kind: String, layers: [Int], defaultFactor: Double?, alpha: Double) {
      (self.name, self.kind, self.layers, self.defaultFactor, self.alpha) = (name, kind, layers, defaultFactor, alpha)
    }
    enum CodingKeys: String, CodingKey { case name, kind, layers, defaultFactor = "default_factor", alpha }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(name, forKey: .name)
      try c.encode(kind, forKey: .kind)
      try c.encode(layers, forKey: .layers)
      try c.encode(JSONField(orNull: defaultFactor), forKey: .defaultFactor)
      try c.encode(alpha, forKey: .alpha)
    }
  }

  /// vLLM's `/tokenizer_info`, which lm-eval's `local-completions` reads.
  public struct TokenizerInfo: Encodable, Sendable {
    public var eosToken: String
    public var bosToken: String?
    public var padToken: String?
    public var modelMaxLength: Int
    public init(eosToken: String, bosToken: String?, padToken: String? = nil, modelMaxLength: Int) {
      (self.eosToken, self.bosToken, self.padToken, self.modelMaxLength) = (eosToken, bosToken, padToken, modelMaxLength)
    }
    enum CodingKeys: String, CodingKey {
      case eosToken = "eos_token", bosToken = "bos_token", padToken = "pad_token", modelMaxLength = "model_max_length"
    }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(eosToken, forKey: .eosToken)
      try c.encode(JSONField(orNull: bosToken), forKey: .bosToken)
      try c.encode(JSONField(orNull: padToken), forKey: .padToken)
      try c.encode(modelMaxLength, forKey: .modelMaxLength)
    }
  }

  /// vLLM's `/tokenize` answer.
  public struct Tokenized: Encodable, Sendable {
    public var tokens: [Int]
    public var count: Int
    public var maxModelLength: Int
    public init(tokens: [Int], maxModelLength: Int) { (self.tokens, count, self.maxModelLength) = (tokens, tokens.count, maxModelLength) }
    enum CodingKeys: String, CodingKey { case tokens, count, maxModelLength = "max_model_len" }
  }

  /// vLLM's `/detokenize` answer.
  public struct Detokenized: Encodable, Sendable {
    public var prompt: String
    public init(prompt: String) { self.prompt = prompt }
  }

  /// `{"error": {"message", "type", "param", "code"}}`, `param` and `code` null when not given.
  public struct Failure: Encodable, Sendable {
    public struct Detail: Encodable, Sendable {
      public var message: String
      public var type: String
      public var param: String?
      public var code: String?
      public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(message, forKey: .message)
        try c.encode(type, forKey: .type)
        try c.encode(JSONField(orNull: param), forKey: .param)
        try c.encode(JSONField(orNull: code), forKey: .code)
      }
      enum CodingKeys: String, CodingKey { case message, type, param, code }
    }
    public var error: Detail
    public init(status: Int, message: String, param: String?, code: String?) {
      error = Detail(message: message, type: status >= 500 ? "server_error" : "invalid_request_error", param: param, code: code)
    }
  }

  public struct Usage: Encodable, Sendable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int { promptTokens + completionTokens }
    public init(promptTokens: Int, completionTokens: Int) { (self.promptTokens, self.completionTokens) = (promptTokens, completionTokens) }
    enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens" }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(promptTokens, forKey: .promptTokens)
      try c.encode(completionTokens, forKey: .completionTokens)
      try c.encode(totalTokens, forKey: .totalTokens)
    }
  }

  /// A steering file and factor the answer was generated with (this server's extension).
  public struct AppliedSteering: Encodable, Sendable {
    public var name: String
    public var factor: Double
    public init(name: String, factor: Double) { (self.name, self.factor) = (name, factor) }
  }

  /// A chat token's log-probability: its text, bytes and, for the sampled token, its alternatives.
  public struct TokenLogProbability: Encodable, Sendable {
    public var token: String
    public var logprob: Double
    public var bytes: [Int]
    /// The alternatives (left out of the alternatives themselves).
    public var topLogprobs: [TokenLogProbability]?
    public init(token: String, logprob: Double, bytes: [Int], topLogprobs: [TokenLogProbability]? = nil) {
      (self.token, self.logprob, self.bytes, self.topLogprobs) = (token, logprob, bytes, topLogprobs)
    }
    enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }
  }

  /// A choice's log-probabilities: chat's per-token entries, or the legacy completions' parallel
  /// lists, whose first echoed prompt token is unscored (null).
  public enum LogProbabilities: Encodable, Sendable {
    case chat(content: [TokenLogProbability])
    case legacy(tokens: [String], tokenLogprobs: [Double?], topLogprobs: [[String: Double]?], textOffset: [Int])

    enum CodingKeys: String, CodingKey {
      case content, tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      switch self {
      case .chat(let content):
        try c.encode(content, forKey: .content)
      case .legacy(let tokens, let tokenLogprobs, let topLogprobs, let textOffset):
        try c.encode(tokens, forKey: .tokens)
        try c.encode(tokenLogprobs, forKey: .tokenLogprobs)
        try c.encode(topLogprobs, forKey: .topLogprobs)
        try c.encode(textOffset, forKey: .textOffset)
      }
    }
  }

  /// A chat message (`message`) or a streamed piece of one (`delta`, whose fields are left out when
  /// absent: the last chunk of a choice carries `{}`).
  public struct Message: Encodable, Sendable {
    public var role: String?
    public var content: String?
    public init(role: String? = nil, content: String? = nil) { (self.role, self.content) = (role, content) }
  }

  /// One choice of an answer or of a streamed chunk.
  public struct Choice: Encodable, Sendable {
    public var index: Int
    /// null until the choice ends (a streamed piece).
    public var finishReason: String?
    public var logprobs: JSONField<LogProbabilities>
    public var message: Message?
    public var delta: Message?
    public var text: String?
    /// Why a streamed generation failed (this server's extension).
    public var error: String?
    public init(
      index: Int, finishReason: String?, logprobs: JSONField<LogProbabilities> = .null, message: Message? = nil, delta: Message? = nil,
      text: String? = nil, error: String? = nil
    ) {
      (self.index, self.finishReason, self.logprobs, self.message, self.delta, self.text, self.error) =
        (index, finishReason, logprobs, message, delta, text, error)
    }
    enum CodingKeys: String, CodingKey { case index, finishReason = "finish_reason", logprobs, message, delta, text, error }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(index, forKey: .index)
      try c.encode(JSONField(orNull: finishReason), forKey: .finishReason)
      try c.encode(logprobs, forKey: .logprobs)
      try c.encodeIfPresent(message, forKey: .message)
      try c.encodeIfPresent(delta, forKey: .delta)
      try c.encodeIfPresent(text, forKey: .text)
      try c.encodeIfPresent(error, forKey: .error)
    }
  }

  /// A whole answer (`chat.completion`, `text_completion`) or a streamed chunk
  /// (`chat.completion.chunk`): `usage` is left out of chunks unless asked for, and null in all but
  /// the last of those.
  public struct Completion: Encodable, Sendable {
    public var id: String
    public var object: String
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: JSONField<Usage>
    public var steering: [AppliedSteering]
    public init(
      id: String, object: String, created: Int, model: String, choices: [Choice], usage: JSONField<Usage>, steering: [AppliedSteering]
    ) {
      (self.id, self.object, self.created, self.model, self.choices, self.usage, self.steering) =
        (id, object, created, model, choices, usage, steering)
    }
    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage, steering }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: CodingKeys.self)
      try c.encode(id, forKey: .id)
      try c.encode(object, forKey: .object)
      try c.encode(created, forKey: .created)
      try c.encode(model, forKey: .model)
      try c.encode(choices, forKey: .choices)
      try c.encode(usage, forKey: .usage)
      try c.encode(steering, forKey: .steering)
    }
  }
}

/// A JSON object's member that is left out, written as `null`, or written as a value: the three
/// states OpenAI's shapes use, where Swift's `Optional` has two.
public enum JSONField<Value: Encodable & Sendable>: Sendable {
  case omitted
  case null
  case value(Value)

  /// null for nil, else the value.
  public init(orNull value: Value?) { self = value.map { .value($0) } ?? .null }
}

extension KeyedEncodingContainer {
  /// Writes `field` under `key`, or nothing when it is omitted.
  public mutating func encode<Value>(_ field: JSONField<Value>, forKey key: Key) throws {
    switch field {
    case .omitted: break
    case .null: try encodeNil(forKey: key)
    case .value(let v): try encode(v, forKey: key)
    }
  }
}
