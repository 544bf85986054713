import Foundation
import LM
import TestSupport
import XCTest

/// An added token's `normalized` flag: matched after the normalizer (NFC) or in the raw text only.
final class NormalizedAddedTokenTests: XCTestCase {
  func testNormalizedTokenMatchesEitherSpellingRawTokenOnlyItsOwn() throws {
    let t = try loadTokenizer(tokenizerJSON: Fixtures.url("tokenizers/bos/normalized/tokenizer.json").path, endOfSequence: nil)
    let key = 1203  // "ke\u{301}y", normalized: true
    let raw = 1204  // "<e\u{301}>", normalized: false
    XCTAssertEqual(t.encode("ke\u{301}ykéy", parseSpecial: false), [key, key], "non-special added tokens match without parseSpecial")
    XCTAssertEqual(t.encode("<e\u{301}>", parseSpecial: false), [raw])
    XCTAssertFalse(t.encode("<é>", parseSpecial: false).contains(raw))
    XCTAssertEqual(t.decodeBytes([raw], skipSpecial: false), Array("<e\u{301}>".utf8))
  }
}
