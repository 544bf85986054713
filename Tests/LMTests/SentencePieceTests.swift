import Foundation
import LM
import TestSupport
import XCTest

/// SentencePiece BPE with byte fallback, from a GGUF vocabulary, from llama.cpp's converter and
/// from tokenizer.json in its three forms, against the sentencepiece package's own ids and
/// llama.cpp's (Tests/Fixtures/tokenizers/sentencepiece, scripts/make_sentencepiece_fixtures.py).
final class SentencePieceTests: XCTestCase {
  private static let checkpoints = Result { try Fixtures.unpack("tokenizers/sentencepiece/checkpoints.tar.gz") }

  private func references() throws -> [[String: Any]] {
    let lines = try Fixtures.jsonLines("tokenizers/sentencepiece/reference.jsonl")
    XCTAssertEqual(lines.count, 320)
    return lines
  }

  /// Compares `tokenizer`'s ids for every text with the reference field `key`.
  private func assertMatches(
    _ tokenizer: any Tokenizer, _ key: String, document: Bool = false, roundTrips: Bool = true, file: StaticString = #filePath,
    line: UInt = #line
  ) throws {
    var exact = 0
    var shown = 0
    let lines = try references()
    for row in lines {
      let text = row["text"] as! String
      let ids = document ? tokenizer.encodeDocument(text, parseSpecial: true) : tokenizer.encode(text, parseSpecial: true)
      if ids == row[key] as! [Int] {
        exact += 1
      } else if shown < 3 {
        shown += 1
        XCTFail("\(key): \(text.debugDescription.prefix(60)) → \(ids.prefix(16)) vs \((row[key] as! [Int]).prefix(16))", file: file, line: line)
      }
      if roundTrips {
        XCTAssertEqual(tokenizer.decodeBytes(document ? Array(ids.dropFirst()) : ids, skipSpecial: false), Array(text.utf8), file: file, line: line)
      }
    }
    XCTAssertEqual(exact, lines.count, key, file: file, line: line)
  }

  func testTokenizerJSONFormsMatchSentencePiece() throws {
    let root = try Self.checkpoints.get()
    for (form, key) in [("llama2-hf", "ids"), ("metaspace-hf", "ids"), ("gemma-hf", "ids_no_prefix")] {
      let t = try loadTokenizer(tokenizerJSON: root + "/\(form)/tokenizer.json", endOfSequence: nil)
      XCTAssertTrue(t is SentencePieceTokenizer, form)
      XCTAssertEqual(t.endOfSequence, 2)
      XCTAssertTrue(t.addsBeginOfSequence, "\(form): its post-processor puts <s> first")
      try assertMatches(t, key)
    }
  }

  func testLlama2DirectoryAddsBOSAsTransformersDoes() throws {
    let t = try DecoderModel.tokenizer(path: try Self.checkpoints.get() + "/llama2-hf")
    for row in try references() {
      let text = row["text"] as! String
      XCTAssertEqual(t.encodeDocument(text, parseSpecial: true), [1] + (row["ids"] as! [Int]))
      // transformers 5 rebuilds a Llama tokenizer's pipeline (its ▁ rules differ from the file's
      // and from sentencepiece around leading spaces and added tokens); the BOS is the same.
      XCTAssertEqual((row["ids_hf_bos"] as! [Int]).first, 1, text.debugDescription)
    }
  }

  func testConvertedGGUFMatchesLlamaCpp() throws {
    let path = try Self.checkpoints.get() + "/llama2.gguf"
    let t = try DecoderModel.tokenizer(path: path)
    XCTAssertTrue(t is SentencePieceTokenizer)
    XCTAssertTrue(t.addsBeginOfSequence)
    // llama.cpp's converter types <start_of_turn> as a control token (it looks special), after
    // which the text gets its own ▁, as llama.cpp does.
    // (Decoding then gives an extra space after each such token, as in llama.cpp.)
    try assertMatches(t, "ids_llama_bos", document: true, roundTrips: false)
    // The whole model loads: a tiny random Llama with this vocabulary, in both formats.
    let gguf = try DecoderModel(path: path, chatTemplate: "mistral")
    let hf = try DecoderModel(path: try Self.checkpoints.get() + "/llama2-hf", chatTemplate: "mistral")
    XCTAssertEqual(gguf.chatPrompt(user: "Hi", system: nil), hf.chatPrompt(user: "Hi", system: nil))
  }

  private func convertedGGUF() throws -> SentencePieceTokenizer {
    try SentencePieceTokenizer(gguf: try GGUFFile(path: try Self.checkpoints.get() + "/llama2.gguf"))
  }

  func testPlainTextMatchesSentencePieceFromGGUF() throws {
    let t = try convertedGGUF()
    var compared = 0
    var fellBack = 0
    for row in try references() {
      let text = row["text"] as! String
      guard !text.contains("_of_turn>") else { continue }  // where llama.cpp's rule applies; see below
      let ids = t.encode(text, parseSpecial: false)
      XCTAssertEqual(ids, row["ids"] as! [Int], text.debugDescription)
      if ids.contains(where: { t.types[$0] == .byte }) { fellBack += 1 }
      compared += 1
    }
    XCTAssertGreaterThan(compared, 150)
    XCTAssertGreaterThan(fellBack, 30, "characters outside the vocabulary take the byte fallback")
  }

  func testControlTokensOnlyWhenAsked() throws {
    let t = try convertedGGUF()
    XCTAssertEqual(t.encode("Hi</s>", parseSpecial: true).last, 2)
    XCTAssertFalse(t.encode("Hi</s>", parseSpecial: false).contains(2))
    // User-defined pieces are atomic either way, as in SentencePiece.
    let turn = t.pieces.firstIndex(of: Array("<start_of_turn>".utf8))!
    XCTAssertTrue(t.encode("a<start_of_turn>b", parseSpecial: false).contains(turn))
  }

  /// Phi-3's real 32k vocabulary (llama.cpp's vocab-only `ggml-vocab-phi-3.gguf`) on llama.cpp's own
  /// tokenizer test: its 47 texts (spaces, tabs and newlines alone, accents, emoji, CJK, code) give
  /// exactly the ids of its `.out` file, which llama.cpp's test-tokenizer-0 checks without BOS and
  /// without special tokens (Tests/Fixtures/tokenizers/llama-cpp/phi-3.tar.gz, from llama-cpp-python
  /// 0.3.36's source; scripts/check_llama_cpp_vocab_tests.py runs the same against psr tokenize).
  func testPhi3VocabularyGivesLlamaCppsIdsOnItsOwnTokenizerTest() throws {
    let root = try Fixtures.unpackedOnce("tokenizers/llama-cpp/phi-3.tar.gz") + "/ggml-vocab-phi-3.gguf"
    let tokenizer = try loadTokenizer(gguf: try GGUFFile(path: root))
    XCTAssertEqual(tokenizer.vocabularySize, 32064)
    // Texts are separated by "\n__ggml_vocab_test__\n"; the file ends with that line without its newline.
    var raw = try Data(contentsOf: URL(fileURLWithPath: root + ".inp"))
    let separator = Data("\n__ggml_vocab_test__\n".utf8)
    if raw.suffix(separator.count - 1) == separator.dropLast() { raw.removeLast(separator.count - 1) }
    var texts: [Data] = []
    var rest = raw[...]
    while let hit = rest.range(of: separator) {
      texts.append(rest[..<hit.lowerBound])
      rest = rest[hit.upperBound...]
    }
    texts.append(rest)
    let lines = try String(contentsOfFile: root + ".out", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    let expected = lines.prefix(texts.count).map { $0.split(separator: " ").map { Int($0)! } }
    XCTAssertEqual(texts.count, 47)
    XCTAssertEqual(expected.count, texts.count)
    for (text, ids) in zip(texts, expected) {
      let string = String(decoding: text, as: UTF8.self)
      XCTAssertEqual(tokenizer.encode(string, parseSpecial: false), ids, string.debugDescription)
    }
  }
}
