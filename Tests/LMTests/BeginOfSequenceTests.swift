import Foundation
import LM
import TestSupport
import XCTest

/// Whether a document starts with BOS, against transformers 5 (tokenizer.json directories,
/// scripts/make_bos_fixtures.py) and llama.cpp's rules (GGUF).
final class BeginOfSequenceTests: XCTestCase {
  func testTokenizerJSONDirectoriesMatchTransformers() throws {
    let lines = try Fixtures.jsonLines("tokenizers/bos/reference.jsonl")
    XCTAssertEqual(Set(lines.map { $0["dir"] as! String }), ["template", "config-off", "config-on", "none", "normalized"])
    var withBOS = 0
    for line in lines {
      let dir = line["dir"] as! String
      let t = try loadTokenizer(tokenizerJSON: Fixtures.url("tokenizers/bos/\(dir)/tokenizer.json").path, endOfSequence: nil)
      let text = line["text"] as! String
      let expected = line["ids"] as! [Int]
      XCTAssertEqual(t.encodeDocument(text, parseSpecial: true), expected, "\(dir): \(text.debugDescription)")
      if expected.first == 1200 && !text.hasPrefix("<|endoftext|>") { withBOS += 1 }
    }
    XCTAssertEqual(withBOS, 2 * 8, "only the post-processor's template adds BOS (add_bos_token is ignored, as in transformers 5)")
  }

  func testBOSIsAddedBeforeABOSAlreadyThereAsTheReferencesDo() throws {
    let t = try loadTokenizer(tokenizerJSON: Fixtures.url("tokenizers/bos/template/tokenizer.json").path, endOfSequence: nil)
    XCTAssertEqual(Array(t.encodeDocument("<|endoftext|>Hi", parseSpecial: true).prefix(2)), [1200, 1200])
    XCTAssertEqual(t.encodeDocument("Hi", parseSpecial: true), [1200] + t.encode("Hi", parseSpecial: true))
  }

  func testGGUFFollowsLlamaCppDefaults() throws {
    func tokenizer(pre: String?, model: String = "gpt2", addsBOS: Bool?) throws -> any Tokenizer {
      var w = GGUFWriter()
      w.set("tokenizer.ggml.model", .string(model))
      w.set("tokenizer.ggml.tokens", .array(["a", "b", "<s>"].map { .string($0) }))
      if model == "llama" {
        w.set("tokenizer.ggml.scores", .array([.float32(0), .float32(0), .float32(0)]))
        w.set("tokenizer.ggml.token_type", .array([.int32(1), .int32(1), .int32(3)]))
      }
      w.set("tokenizer.ggml.eos_token_id", .uint32(0))
      w.set("tokenizer.ggml.bos_token_id", .uint32(2))
      if let pre { w.set("tokenizer.ggml.pre", .string(pre)) }
      if let addsBOS { w.set("tokenizer.ggml.add_bos_token", .bool(addsBOS)) }
      return try loadTokenizer(gguf: try GGUFFile(bytes: w.bytes()))
    }
    XCTAssertTrue(try tokenizer(pre: "llama-bpe", addsBOS: nil).addsBeginOfSequence)
    XCTAssertFalse(try tokenizer(pre: "qwen2", addsBOS: nil).addsBeginOfSequence)
    XCTAssertTrue(try tokenizer(pre: "qwen2", addsBOS: true).addsBeginOfSequence)
    XCTAssertFalse(try tokenizer(pre: "llama-bpe", addsBOS: false).addsBeginOfSequence)
    XCTAssertTrue(try tokenizer(pre: nil, model: "llama", addsBOS: nil).addsBeginOfSequence)
    XCTAssertEqual(try tokenizer(pre: "llama-bpe", addsBOS: nil).encodeDocument("ab", parseSpecial: false).first, 2)
  }
}
