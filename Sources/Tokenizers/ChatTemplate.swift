import Foundation
import ModelFiles

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

/// Why a chat template could not be used.
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible {
  case unrecognized(excerpt: String)
  case unknownName(String)
  case noSystemRole(String)

  public var description: String {
    switch self {
    case .unrecognized(let excerpt):
      "the model's chat template is not one of the built-in ones (\(ChatTemplate.Style.allCases.map(\.rawValue).joined(separator: ", "))): "
        + "\(excerpt.debugDescription); choose one with --chat-template NAME"
    case .unknownName(let name):
      "--chat-template '\(name)' is not one of \(ChatTemplate.Style.allCases.map(\.rawValue).joined(separator: ", "))"
    case .noSystemRole(let style):
      "the \(style) chat template has no system role, so the steering prompt cannot go there; use --prompt-position prefix"
    }
  }
}

/// Renders a conversation as the model was trained to see it, as the family's Jinja template
/// does for plain text messages (no tools). Each style is recognised in the template text of
/// the model file; `--chat-template NAME` chooses one instead.
public struct ChatTemplate: Sendable, Equatable {
  public enum Style: String, Codable, Sendable, CaseIterable {
    /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM, Qwen2/2.5), with the template's default system message.
    case chatml
    /// ChatML plus Qwen3's thinking block: off (an empty `<think>` block) unless asked for.
    case qwen3
    /// Llama 3 headers; 3.1+ templates put the knowledge and date lines in the system header.
    case llama3
    /// Gemma's `<start_of_turn>user/model` turns; no system role.
    case gemma
    /// Gemma 3's turns: a leading system message opens the first turn, untrimmed, before a blank line.
    case gemma3
    /// Phi-3's `<|user|>\n…<|end|>\n` turns, a system turn when its text is not empty.
    case phi3
    /// Mistral's `[INST]…[/INST]`, the system text before the last user message.
    case mistral
  }

  public let style: Style
  /// A short name stored with files made under this template.
  public var identifier: String { style.rawValue }
  /// ChatML: inserted as the system message when a conversation starts with another role.
  public let defaultSystemMessage: String?
  /// The text of the beginning- and end-of-sequence tokens, where the template writes them.
  public var beginOfSequence = ""
  public var endOfSequence = ""
  /// Llama 3.1+: the "Cutting Knowledge Date … Today Date …" lines of the system header.
  public var systemDateLines = false
  /// Llama 3.1+: the date in those lines (the templates' default).
  public var dateString = "26 Jul 2024"
  /// Qwen3: render the generation prompt without the empty thinking block.
  public var enableThinking = false

  /// Whether the template has a place for a system message (Gemma's has none).
  public var hasSystemRole: Bool { style != .gemma }

  public static func chatML(defaultSystemMessage: String?) -> ChatTemplate {
    ChatTemplate(style: .chatml, defaultSystemMessage: defaultSystemMessage)
  }

  init(style: Style, defaultSystemMessage: String? = nil) {
    self.style = style
    self.defaultSystemMessage = defaultSystemMessage
  }

  /// Reads the template from metadata; a model without one gets plain ChatML.
  public init(gguf: GGUFFile, override: String? = nil) throws {
    let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.array ?? []
    func token(_ key: String) -> String {
      guard let id = gguf.metadata[key]?.int, tokens.indices.contains(id) else { return "" }
      return tokens[id].string ?? ""
    }
    try self.init(
      source: gguf.metadata["tokenizer.chat_template"]?.string, beginOfSequence: token("tokenizer.ggml.bos_token_id"),
      endOfSequence: token("tokenizer.ggml.eos_token_id"), override: override)
  }

  /// Recognises a Jinja template by the markers each family's template writes; no template
  /// means plain ChatML. With `override` (`--chat-template`), that built-in style is used
  /// instead, and an unrecognised template is no error.
  public init(source: String?, beginOfSequence: String = "", endOfSequence: String = "", override: String? = nil) throws {
    if let override {
      let detected = try? ChatTemplate(source: source, beginOfSequence: beginOfSequence, endOfSequence: endOfSequence)
      var fallback = ChatTemplate.chatML(defaultSystemMessage: nil)
      fallback.beginOfSequence = beginOfSequence
      fallback.endOfSequence = endOfSequence
      self = try (detected ?? fallback).named(override)
      return
    }
    guard let source else {
      self = .chatML(defaultSystemMessage: nil)
      return
    }
    if source.contains("<|start_header_id|>") {
      self.init(style: .llama3)
      systemDateLines = source.contains("Cutting Knowledge Date")
    } else if source.contains("<start_of_turn>") && source.contains("first_user_prefix") {
      self.init(style: .gemma3)
    } else if source.contains("<start_of_turn>") {
      self.init(style: .gemma)
    } else if source.contains("<|user|>") && source.contains("<|end|>") {
      self.init(style: .phi3)
    } else if source.contains("[INST]") {
      self.init(style: .mistral)
    } else if source.contains("<|im_start|>") && source.contains("<think>") {
      self.init(style: .qwen3)
    } else if source.contains("<|im_start|>") {
      self.init(style: .chatml, defaultSystemMessage: Self.defaultSystem(in: source))
    } else {
      throw ChatTemplateError.unrecognized(excerpt: String(source.prefix(80)))
    }
    self.beginOfSequence = beginOfSequence
    self.endOfSequence = endOfSequence
  }

  /// The template this name chooses (`--chat-template`), keeping the file's special tokens and
  /// default system message where the file's template is of the same style.
  public func named(_ name: String) throws -> ChatTemplate {
    guard let style = Style(rawValue: name) else { throw ChatTemplateError.unknownName(name) }
    guard style != self.style else { return self }
    var t = ChatTemplate(style: style)
    t.beginOfSequence = beginOfSequence
    t.endOfSequence = endOfSequence
    t.systemDateLines = style == .llama3
    return t
  }

  /// The text of the conversation, ending with the assistant header when
  /// `addGenerationPrompt` (the model then writes the assistant's turn).
  public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
    switch style {
    case .chatml: renderChatML(messages, addGenerationPrompt)
    case .qwen3: renderQwen3(messages, addGenerationPrompt)
    case .llama3: renderLlama3(messages, addGenerationPrompt)
    case .gemma: renderGemma(messages, addGenerationPrompt)
    case .gemma3: renderGemma3(messages, addGenerationPrompt)
    case .phi3: renderPhi3(messages, addGenerationPrompt)
    case .mistral: renderMistral(messages)
    }
  }

  private func renderChatML(_ messages: [ChatMessage], _ addGenerationPrompt: Bool) -> String {
    var out = ""
    if let first = messages.first, first.role != .system, let system = defaultSystemMessage {
      out += "<|im_start|>system\n\(system)<|im_end|>\n"
    }
    for m in messages { out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n" }
    if addGenerationPrompt { out += "<|im_start|>assistant\n" }
    return out
  }

  /// Qwen3: earlier assistant turns lose their reasoning; an assistant turn after the last user
  /// message keeps it (empty when absent) inside `<think>`.
  private func renderQwen3(_ messages: [ChatMessage], _ addGenerationPrompt: Bool) -> String {
    var out = ""
    let lastQuery = messages.lastIndex { $0.role == .user } ?? messages.count - 1
    for (i, m) in messages.enumerated() {
      switch m.role {
      case .system, .user: out += "<|im_start|>\(m.role.rawValue)\n\(m.content)<|im_end|>\n"
      case .assistant:
        var content = m.content
        var reasoning = ""
        if let close = content.range(of: "</think>", options: .backwards) {
          let before = String(content[..<close.lowerBound])
          content = String(Self.dropLeading("\n", content[close.upperBound...]))
          let inner = before.range(of: "<think>", options: .backwards).map { String(before[$0.upperBound...]) } ?? before
          reasoning = String(Self.dropLeading("\n", Self.dropTrailing("\n", inner[...])))
        }
        if i > lastQuery && (i == messages.count - 1 || !reasoning.isEmpty) {
          let r = Self.dropLeading("\n", Self.dropTrailing("\n", reasoning[...]))
          out += "<|im_start|>assistant\n<think>\n\(r)\n</think>\n\n\(Self.dropLeading("\n", content[...]))"
        } else {
          out += "<|im_start|>assistant\n\(content)"
        }
        out += "<|im_end|>\n"
      }
    }
    if addGenerationPrompt {
      out += "<|im_start|>assistant\n"
      if !enableThinking { out += "<think>\n\n</think>\n\n" }
    }
    return out
  }

  private func renderLlama3(_ messages: [ChatMessage], _ addGenerationPrompt: Bool) -> String {
    var out = beginOfSequence
    var rest = messages[...]
    var system = ""
    if let first = rest.first, first.role == .system {
      system = Self.trim(first.content)
      rest = rest.dropFirst()
    }
    if systemDateLines {
      out += "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: \(dateString)\n\n"
      out += system + "<|eot_id|>"
    } else if !system.isEmpty || messages.first?.role == .system {
      out += "<|start_header_id|>system<|end_header_id|>\n\n\(system)<|eot_id|>"
    }
    for m in rest { out += "<|start_header_id|>\(m.role.rawValue)<|end_header_id|>\n\n\(Self.trim(m.content))<|eot_id|>" }
    if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
    return out
  }

  /// Gemma has no system role: a system message's text opens the first user turn, followed by
  /// a blank line, which is how Gemma's documentation places instructions.
  private func renderGemma(_ messages: [ChatMessage], _ addGenerationPrompt: Bool) -> String {
    var out = beginOfSequence
    var pendingSystem: String?
    for m in messages {
      if m.role == .system {
        pendingSystem = (pendingSystem.map { $0 + "\n\n" } ?? "") + m.content
        continue
      }
      var content = m.content
      if m.role == .user, let system = pendingSystem {
        content = system + "\n\n" + content
        pendingSystem = nil
      }
      let role = m.role == .assistant ? "model" : "user"
      out += "<start_of_turn>\(role)\n\(Self.trim(content))<end_of_turn>\n"
    }
    if addGenerationPrompt { out += "<start_of_turn>model\n" }
    return out
  }

  /// Gemma 3: only a first system message counts; its text, untrimmed, then a blank line, opens
  /// the first turn's trimmed content.
  private func renderGemma3(_ messages: [ChatMessage], _ addGenerationPrompt: Bool) -> String {
    var out = beginOfSequence
    var rest = messages[...]
    var prefix = ""
    if let first = rest.first, first.role == .system {
      prefix = first.content + "\n\n"
      rest = rest.dropFirst()
    }
    for (i, m) in rest.enumerated() {
      let role = m.role == .assistant ? "model" : m.role.rawValue
      out += "<start_of_turn>\(role)\n" + (i == 0 ? prefix : "") + Self.trim(m.content) + "<end_of_turn>\n"
    }
    if addGenerationPrompt { out += "<start_of_turn>model\n" }
    return out
  }

  /// Phi-3 / 3.5: no beginning-of-sequence text, an empty system message left out, and the end of
  /// sequence after the last turn when no reply is asked for.
  private func renderPhi3(_ messages: [ChatMessage], _ addGenerationPrompt: Bool) -> String {
    var out = ""
    for m in messages where !(m.role == .system && m.content.isEmpty) {
      out += "<|\(m.role.rawValue)|>\n\(m.content)<|end|>\n"
    }
    out += addGenerationPrompt ? "<|assistant|>\n" : endOfSequence
    return out
  }

  /// Mistral (the v3 "Tekken"/Nemo template): the system text goes before the last user message.
  private func renderMistral(_ messages: [ChatMessage]) -> String {
    var out = beginOfSequence
    var rest = messages[...]
    var system: String?
    if let first = rest.first, first.role == .system {
      system = first.content
      rest = rest.dropFirst()
    }
    for (i, m) in zip(rest.indices, rest) {
      switch m.role {
      case .user:
        let isLast = i == rest.indices.last
        out += "[INST]" + (isLast && system != nil ? system! + "\n\n" : "") + m.content + "[/INST]"
      case .assistant: out += m.content + endOfSequence
      case .system: out += "[INST]" + m.content + "[/INST]"
      }
    }
    return out
  }

  /// Python's `str.strip()`, which Jinja's `trim` is.
  static func trim(_ s: String) -> String {
    String(dropTrailing(nil, dropLeading(nil, s[...])))
  }

  private static func dropLeading(_ c: Character?, _ s: Substring) -> Substring {
    s.drop { c == nil ? $0.isWhitespace : $0 == c }
  }

  private static func dropTrailing(_ c: Character?, _ s: Substring) -> Substring {
    var s = s
    while let last = s.last, c == nil ? last.isWhitespace : last == c { s = s.dropLast() }
    return s
  }

  /// The first literal system message in the template source: text between
  /// `<|im_start|>system` plus a newline (real or written `\n`) and `<|im_end|>` that holds no
  /// Jinja expression.
  static func defaultSystem(in source: String) -> String? {
    var searchFrom = source.startIndex
    while let start = source.range(of: "<|im_start|>system", range: searchFrom..<source.endIndex) {
      searchFrom = start.upperBound
      var textStart = start.upperBound
      if source[textStart...].hasPrefix("\\n") {
        textStart = source.index(textStart, offsetBy: 2)
      } else if source[textStart...].hasPrefix("\n") {
        textStart = source.index(after: textStart)
      } else {
        continue
      }
      guard let end = source.range(of: "<|im_end|>", range: textStart..<source.endIndex) else { return nil }
      let text = String(source[textStart..<end.lowerBound])
      if text.isEmpty || text.contains("'") || text.contains("\"") || text.contains("{") || text.contains("+") { continue }
      return text
    }
    return nil
  }
}
