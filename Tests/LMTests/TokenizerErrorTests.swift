import Foundation
import LM
import TestSupport
import XCTest

/// Tokenizer files that cannot be honoured are refused with one line naming what is wrong.
final class TokenizerErrorTests: TemporaryDirectoryTestCase {
  private func write(_ json: [String: Any]) throws -> String {
    let path = directory.appendingPathComponent("tokenizer.json").path
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
    return path
  }

  private func smallTokenizer() throws -> [String: Any] {
    let data = try Data(contentsOf: Fixtures.url("tokenizers/llama3-small/tokenizer.json"))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
  }

  private func assertRefused(_ json: [String: Any], mentioning parts: [String], line: UInt = #line) throws {
    let path = try write(json)
    XCTAssertThrowsError(try BPETokenizer(tokenizerJSON: path, endOfSequence: 0), line: line) { error in
      let message = "\(error)"
      XCTAssertFalse(message.contains("\n"), line: line)
      for part in parts { XCTAssertTrue(message.contains(part), "'\(message)' names \(part)", line: line) }
    }
  }

  func testUnknownModelTypeIsNamed() throws {
    var json = try smallTokenizer()
    var model = json["model"] as! [String: Any]
    model["type"] = "Unigram"
    json["model"] = model
    try assertRefused(json, mentioning: ["tokenizer.json", "Unigram"])
  }

  func testMergeNamingAMissingTokenIsNamed() throws {
    var json = try smallTokenizer()
    var model = json["model"] as! [String: Any]
    model["merges"] = [["Ġthe", "zzzNotAToken"]]
    json["model"] = model
    try assertRefused(json, mentioning: ["merges entry 0", "zzzNotAToken"])
  }

  func testUnknownSplitRegexIsNamed() throws {
    var json = try smallTokenizer()
    var pre = json["pre_tokenizer"] as! [String: Any]
    var steps = pre["pretokenizers"] as! [[String: Any]]
    steps[0]["pattern"] = ["Regex": "\\w+|\\s+"]
    pre["pretokenizers"] = steps
    json["pre_tokenizer"] = pre
    try assertRefused(json, mentioning: ["Split regex", "\\\\w+"])
  }

  func testUnknownNormalizerIsNamed() throws {
    var json = try smallTokenizer()
    json["normalizer"] = ["type": "Lowercase"]
    try assertRefused(json, mentioning: ["normalizer", "Lowercase"])
  }

  func testSentencePieceNormalizerStepIsNamed() throws {
    var json = try smallTokenizer()
    var model = json["model"] as! [String: Any]
    model["byte_fallback"] = true
    json["model"] = model
    json["pre_tokenizer"] = NSNull()
    json["normalizer"] = [
      "type": "Sequence", "normalizers": [["type": "Replace", "pattern": ["String": " "], "content": "\u{2581}"], ["type": "NFKC"]],
    ]
    let path = try write(json)
    XCTAssertThrowsError(try loadTokenizer(tokenizerJSON: path, endOfSequence: 0)) { error in
      XCTAssertTrue("\(error)".contains("NFKC") && "\(error)".contains("SentencePiece"), "\(error)")
    }
  }

  func testMalformedJSONSaysWhere() throws {
    let path = directory.appendingPathComponent("tokenizer.json").path
    try Data(#"{"model": {"type": "BPE", "vocab": {"a": 0,}}}"#.utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try loadTokenizer(tokenizerJSON: path, endOfSequence: 0)) { error in
      XCTAssertTrue("\(error)".contains("tokenizer.json: invalid JSON at byte"), "\(error)")
    }
  }

  func testUnknownGGUFPreTokenizerIsNamed() throws {
    var w = GGUFWriter()
    w.set("tokenizer.ggml.model", .string("gpt2"))
    w.set("tokenizer.ggml.tokens", .array([.string("a"), .string("b")]))
    w.set("tokenizer.ggml.eos_token_id", .uint32(0))
    w.set("tokenizer.ggml.pre", .string("deepseek-coder"))
    XCTAssertThrowsError(try BPETokenizer(gguf: try GGUFFile(bytes: w.bytes()))) { error in
      XCTAssertTrue("\(error)".contains("deepseek-coder") && "\(error)".contains("llama-bpe"), "\(error)")
    }
  }

  /// A two-token byte-level vocabulary with the given token types.
  private func ggufVocabulary(model: String = "gpt2", types: [GGUFValue]?) -> GGUFWriter {
    var w = GGUFWriter()
    w.set("tokenizer.ggml.model", .string(model))
    w.set("tokenizer.ggml.tokens", .array([.string("a"), .string("b")]))
    if model == "llama" { w.set("tokenizer.ggml.scores", .array([.float32(0), .float32(-1)])) }
    w.set("tokenizer.ggml.eos_token_id", .uint32(0))
    w.set("tokenizer.ggml.pre", .string("gpt2"))
    if let types { w.set("tokenizer.ggml.token_type", .array(types)) }
    return w
  }

  func testTokenTypesOutsideLlamaCppsSetOrOfAnotherLengthAreNamed() throws {
    XCTAssertNoThrow(try BPETokenizer(gguf: try GGUFFile(bytes: ggufVocabulary(types: [.int32(1), .int32(3)]).bytes())))
    XCTAssertNoThrow(try BPETokenizer(gguf: try GGUFFile(bytes: ggufVocabulary(types: nil).bytes())))
    for model in ["gpt2", "llama"] {
      for types: [GGUFValue] in [[.int32(1), .int32(64)], [.int32(1)], [.int32(-1), .int32(1)]] {
        let file = try GGUFFile(bytes: ggufVocabulary(model: model, types: types).bytes())
        XCTAssertThrowsError(try loadTokenizer(gguf: file), "\(model) \(types)") { error in
          XCTAssertTrue("\(error)".contains("tokenizer.ggml.token_type"), "\(error)")
        }
      }
    }
  }
}
