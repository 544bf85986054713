import Foundation
import LM
import TestSupport
import XCTest

/// SentencePiece BPE with byte fallback, from a GGUF vocabulary, against the sentencepiece
/// package's own ids (Tests/Fixtures/tokenizers/sentencepiece, scripts/make_sentencepiece_fixtures.py).
final class SentencePieceTests: XCTestCase {
  private func tokenizer() throws -> SentencePieceTokenizer {
    try SentencePieceTokenizer(gguf: try GGUFFile(path: Fixtures.url("tokenizers/sentencepiece/vocab.gguf.bin").path))
  }

  func testMatchesSentencePieceOnEveryText() throws {
    let t = try tokenizer()
    let lines = try Fixtures.jsonLines("tokenizers/sentencepiece/reference.jsonl")
    XCTAssertEqual(lines.count, 320)
    var exact = 0
    var fellBack = 0
    for line in lines {
      let text = line["text"] as! String
      let expected = line["ids"] as! [Int]
      let ids = t.encode(text, parseSpecial: false)
      if ids == expected { exact += 1 } else { XCTFail("\(text.debugDescription.prefix(80)) → \(ids) vs \(expected)") }
      if ids.contains(where: { t.types[$0] == .byte }) { fellBack += 1 }
      XCTAssertEqual(t.decodeBytes(ids, skipSpecial: false), Array(text.utf8), "decode of \(text.debugDescription.prefix(40))")
    }
    XCTAssertEqual(exact, lines.count)
    XCTAssertGreaterThan(fellBack, 50, "characters outside the vocabulary take the byte fallback")
  }

  func testControlTokensOnlyWhenAsked() throws {
    let t = try tokenizer()
    XCTAssertEqual(t.encode("Hi</s>", parseSpecial: true).last, 2)
    XCTAssertFalse(t.encode("Hi</s>", parseSpecial: false).contains(2))
    // User-defined pieces are atomic either way, as in SentencePiece.
    let turn = t.pieces.firstIndex(of: Array("<start_of_turn>".utf8))!
    XCTAssertTrue(t.encode("a<start_of_turn>b", parseSpecial: false).contains(turn))
  }
}
