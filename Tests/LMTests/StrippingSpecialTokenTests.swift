import Foundation
import LM
import TestSupport
import XCTest

/// Added tokens that swallow whitespace (`lstrip`, `rstrip`) against Hugging Face tokenizers.
final class StrippingSpecialTokenTests: XCTestCase {
  func testLeftAndRightStrippingMatchesHuggingFace() throws {
    let t = try BPETokenizer(tokenizerJSON: Fixtures.url("tokenizers/strip/tokenizer.json").path, endOfSequence: nil)
    let lines = try Fixtures.jsonLines("tokenizers/strip/reference.jsonl")
    XCTAssertGreaterThan(lines.count, 60)
    for line in lines {
      let text = line["text"] as! String
      XCTAssertEqual(t.encode(text, parseSpecial: true), line["ids"] as! [Int], text.debugDescription)
    }
  }
}
