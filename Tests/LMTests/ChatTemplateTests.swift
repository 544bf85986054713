import Foundation
import LM
import TestSupport
import XCTest

/// The built-in renderers against transformers' rendering of each family's real Jinja template
/// (Tests/Fixtures/templates, scripts/make_template_fixtures.py).
final class ChatTemplateTests: XCTestCase {
  private func template(_ name: String, bos: String, eos: String) throws -> ChatTemplate {
    let source = try String(contentsOf: Fixtures.url("templates/\(name).jinja"), encoding: .utf8)
    return try ChatTemplate(source: source, beginOfSequence: bos, endOfSequence: eos)
  }

  func testRendersExactlyAsTransformers() throws {
    let lines = try Fixtures.jsonLines("templates/renders.jsonl")
    XCTAssertGreaterThanOrEqual(lines.count, 60)
    var compared = 0
    for line in lines {
      let name = line["template"] as! String
      var t = try template(name, bos: line["bos"] as! String, eos: line["eos"] as! String)
      let kwargs = line["kwargs"] as? [String: Any] ?? [:]
      if let date = kwargs["date_string"] as? String { t.dateString = date }
      if let thinking = kwargs["enable_thinking"] as? Bool { t.enableThinking = thinking }
      let messages = (line["messages"] as! [[String: String]]).map {
        ChatMessage(role: ChatMessage.Role(rawValue: $0["role"]!)!, content: $0["content"]!)
      }
      guard let expected = line["text"] as? String else {
        // Only Gemma's template refuses, for its missing system role.
        XCTAssertEqual(name, "gemma-2")
        XCTAssertFalse(t.hasSystemRole)
        continue
      }
      let generation = line["add_generation_prompt"] as! Bool
      XCTAssertEqual(
        t.render(messages, addGenerationPrompt: generation), expected, "\(name) \(messages.count) messages, prompt \(generation)")
      compared += 1
    }
    XCTAssertEqual(compared, lines.count - 4)
  }

  func testGemma3OpensTheFirstTurnWithTheSystemText() throws {
    // Gemma 3's template (not among llama.cpp's copies, so written out here): the first system
    // message, untrimmed, and a blank line open the first turn; each turn's own text is trimmed.
    let source = "{{ bos_token }}{%- set first_user_prefix = '' -%}<start_of_turn>"
    let t = try ChatTemplate(source: source, beginOfSequence: "<bos>", endOfSequence: "<eos>")
    XCTAssertEqual(t.style, .gemma3)
    XCTAssertTrue(t.hasSystemRole)
    let messages = [
      ChatMessage(role: .system, content: " Be brief. "), ChatMessage(role: .user, content: "  Hi!\n"),
      ChatMessage(role: .assistant, content: "Hello."), ChatMessage(role: .user, content: "Bye"),
    ]
    XCTAssertEqual(
      t.render(messages),
      "<bos><start_of_turn>user\n Be brief. \n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
        + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n")
  }

  func testDetectsEachFamilyFromItsTemplate() throws {
    let expected: [String: ChatTemplate.Style] = [
      "llama-3.1": .llama3, "llama-3.2": .llama3, "qwen2.5": .chatml, "qwen3": .qwen3, "gemma-2": .gemma, "mistral-nemo": .mistral,
      "phi-3.5": .phi3,
    ]
    for (name, style) in expected { XCTAssertEqual(try template(name, bos: "", eos: "").style, style, name) }
    XCTAssertEqual(
      try template("qwen2.5", bos: "", eos: "").defaultSystemMessage, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
    )
  }

  func testQwen3ThinkingIsOffUnlessAskedFor() throws {
    var t = try template("qwen3", bos: "", eos: "")
    XCTAssertTrue(t.render([.user("Hi")]).hasSuffix("<|im_start|>assistant\n<think>\n\n</think>\n\n"))
    t.enableThinking = true
    XCTAssertTrue(t.render([.user("Hi")]).hasSuffix("<|im_start|>assistant\n"))
  }

  func testUnknownTemplateAndNameAreClearErrors() throws {
    XCTAssertThrowsError(try ChatTemplate(source: "{{ messages }} ### Human:")) { error in
      XCTAssertTrue("\(error)".contains("--chat-template"), "\(error)")
    }
    XCTAssertThrowsError(try ChatTemplate.chatML(defaultSystemMessage: nil).named("vicuna")) { error in
      XCTAssertTrue("\(error)".contains("vicuna") && "\(error)".contains("gemma"), "\(error)")
    }
    XCTAssertEqual(try ChatTemplate.chatML(defaultSystemMessage: nil).named("gemma").hasSystemRole, false)
    // With an override, an unrecognised template is no obstacle.
    let chosen = try ChatTemplate(source: "{{ messages }} ### Human:", beginOfSequence: "<s>", endOfSequence: "</s>", override: "mistral")
    XCTAssertEqual(chosen.render([.user("Hi")]), "<s>[INST]Hi[/INST]")
  }
}
