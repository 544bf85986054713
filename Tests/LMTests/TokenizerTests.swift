import LM
import TestSupport
import XCTest

final class TokenizerTests: XCTestCase {
  private func tokenizer() throws -> any Tokenizer { try Fixtures.model().tokenizer }

  func testReproducesLlamaCppTokenizationAndDecodesBack() throws {
    let t = try tokenizer()
    let lines = try Fixtures.jsonLines("smollm2-135m-instruct-q4_1/tokenize.jsonl")
    XCTAssertEqual(lines.count, 95)
    for line in lines {
      let text = line["text"] as! String
      let ids = t.encode(text, parseSpecial: false)
      XCTAssertEqual(ids, line["ids"] as! [Int], "text: \(text.prefix(60))")
      XCTAssertEqual(t.decode(ids), text)
    }
  }

  func testDigitsSplitOnePerToken() throws {
    let t = try tokenizer()
    XCTAssertEqual(t.encode("\n\n1.", parseSpecial: false).map { t.tokenText($0) }, ["\n\n", "1", "."])
    XCTAssertEqual(t.encode("2024", parseSpecial: false).count, 4)
  }

  func testSpecialTokensParsedOnlyWhenAsked() throws {
    let t = try tokenizer()
    XCTAssertEqual(t.encode("<|im_start|>user", parseSpecial: true).first, 1)
    XCTAssertFalse(t.encode("<|im_start|>user", parseSpecial: false).contains(1))
    XCTAssertEqual(t.decode([1, 4093], skipSpecial: true), "user")
    XCTAssertEqual(t.decode([1, 4093], skipSpecial: false), "<|im_start|>user")
  }

  func testChatTemplateMatchesReferenceRenderingAndIds() throws {
    let model = try Fixtures.model()
    for line in try Fixtures.jsonLines("smollm2-135m-instruct-q4_1/chat.jsonl") {
      let messages = (line["messages"] as! [[String: String]]).map {
        ChatMessage(role: ChatMessage.Role(rawValue: $0["role"]!)!, content: $0["content"]!)
      }
      let rendered = model.chatTemplate.render(messages)
      XCTAssertEqual(rendered, line["rendered"] as! String)
      XCTAssertEqual(model.tokenizer.encode(rendered, parseSpecial: true), line["ids"] as! [Int])
    }
  }

  func testDefaultSystemMessageComesFromTheTemplate() throws {
    let model = try Fixtures.model()
    XCTAssertEqual(model.chatTemplate.defaultSystemMessage, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
    XCTAssertFalse(model.chatTemplate.render([.system("S"), .user("U")]).contains("SmolLM"))
  }

  /// llama.cpp gives a GGUF Llama-3 vocabulary ('llama-bpe') `ignore_merges`: a piece that is a
  /// token is that token even where no merge reaches it (its own tokenizer test has " Việt",
  /// 101798, which merges alone would split into " Vi", "ệ", "t"). Other byte-level vocabularies merge.
  func testGGUFLlama3VocabularyTakesWholePiecesAsLlamaCppDoes() throws {
    func tokenizer(pre: String) throws -> any Tokenizer {
      var w = GGUFWriter()
      w.set("tokenizer.ggml.model", .string("gpt2"))
      w.set("tokenizer.ggml.pre", .string(pre))
      w.set("tokenizer.ggml.tokens", .array(["a", "b", "c", "bc", "abc", "<eos>"].map { .string($0) }))
      w.set("tokenizer.ggml.merges", .array([.string("b c")]))
      w.set("tokenizer.ggml.eos_token_id", .uint32(5))
      return try loadTokenizer(gguf: try GGUFFile(bytes: w.bytes()))
    }
    XCTAssertEqual(try tokenizer(pre: "llama-bpe").encode("abc", parseSpecial: false), [4])
    XCTAssertEqual(try tokenizer(pre: "llama3").encode("cabc", parseSpecial: false), [2, 0, 3])
    XCTAssertEqual(try tokenizer(pre: "qwen2").encode("abc", parseSpecial: false), [0, 3])
    XCTAssertEqual(try tokenizer(pre: "smollm").encode("abc", parseSpecial: false), [0, 3])
  }
}
