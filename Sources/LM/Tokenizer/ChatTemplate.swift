/// One turn of a conversation.
public struct ChatMessage: Codable, Equatable, Sendable {
  public enum Role: String, Codable, Sendable { case system, user, assistant }
  public var role: Role
  public var content: String

  public init(role: Role, content: String) {
    self.role = role
    self.content = content
  }

  public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
  public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
  public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: text) }
}

/// Renders a conversation as the model was trained to see it.
///
/// Only ChatML (`<|im_start|>role\ncontent<|im_end|>\n`) is implemented; it is recognised in
/// the GGUF's `tokenizer.chat_template`, whose hard-coded default system message (used when
/// the first message is not a system message) is read from the template itself.
public struct ChatTemplate: Sendable, Equatable {
  /// A short name stored with files made under this template.
  public let identifier: String
  /// Inserted as the system message when a conversation starts with another role.
  public let defaultSystemMessage: String?

  public static func chatML(defaultSystemMessage: String?) -> ChatTemplate {
    ChatTemplate(identifier: "chatml", defaultSystemMessage: defaultSystemMessage)
  }

  /// Reads the template from metadata; a model without one gets plain ChatML.
  public init(gguf: GGUFFile) throws {
    try self.init(source: gguf.metadata["tokenizer.chat_template"]?.string)
  }

  /// Recognises a Jinja template's text; no template means plain ChatML.
  public init(source: String?) throws {
    guard let source else {
      self = .chatML(defaultSystemMessage: nil)
      return
    }
    guard source.contains("<|im_start|>") else {
      throw ModelError.unsupportedTokenizer("the chat template is not ChatML")
    }
    self = .chatML(defaultSystemMessage: Self.defaultSystem(in: source))
  }

  init(identifier: String, defaultSystemMessage: String?) {
    self.identifier = identifier
    self.defaultSystemMessage = defaultSystemMessage
  }

  /// The text of the conversation, ending with the assistant header when
  /// `addGenerationPrompt` (the model then writes the assistant's turn).
  public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
    var out = ""
    if let first = messages.first, first.role != .system, let system = defaultSystemMessage {
      out += "<|im_start|>system\n\(system)<|im_end|>\n"
    }
    for m in messages {
      out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n"
    }
    if addGenerationPrompt { out += "<|im_start|>assistant\n" }
    return out
  }

  /// The literal between `<|im_start|>system\n` and `<|im_end|>` inside the template source.
  static func defaultSystem(in source: String) -> String? {
    guard let start = source.range(of: "<|im_start|>system\n"),
      let end = source.range(of: "<|im_end|>", range: start.upperBound..<source.endIndex)
    else { return nil }
    return String(source[start.upperBound..<end.lowerBound])
  }
}
