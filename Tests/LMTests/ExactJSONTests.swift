import Foundation
import XCTest

import LM

/// The JSON reader behind tokenizer.json: exact keys, full grammar, bounded nesting.
final class ExactJSONTests: XCTestCase {
  func testCanonicallyEquivalentKeysStayTwo() throws {
    let json = try ExactJSON.parse(Array(#"{"\u00e9": 1, "e\u0301": 2, "é": 3}"#.utf8))
    let keys = try XCTUnwrap(json.members).map { Array($0.key.utf8) }
    XCTAssertEqual(keys, [[0xC3, 0xA9], [0x65, 0xCC, 0x81], [0xC3, 0xA9]])
  }

  func testValuesAndEscapes() throws {
    let json = try ExactJSON.parse(Array(#" [1, -2.5e1, true, false, null, "a\"\\\/\n\t\ud83d\ude80"] "#.utf8))
    let items = try XCTUnwrap(json.foundation as? [Any])
    XCTAssertEqual(items[0] as? Int, 1)
    XCTAssertEqual(items[1] as? Double, -25)
    XCTAssertEqual(items[2] as? Bool, true)
    XCTAssertTrue(items[4] is NSNull)
    XCTAssertEqual(items[5] as? String, "a\"\\/\n\t🚀")
  }

  func testMalformedInputIsAnErrorWithItsOffset() {
    for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "\"\\x\"", "01x", "[1] 2", "\"a\u{01}\"", "tru", "1e", "[" + String(repeating: "[", count: 200)] {
      XCTAssertThrowsError(try ExactJSON.parse(Array(bad.utf8)), bad.debugDescription) { error in
        XCTAssertTrue("\(error)".hasPrefix("invalid JSON at byte"), "\(error)")
      }
    }
    XCTAssertThrowsError(try ExactJSON.parse([0x22, 0xFF, 0x22]), "invalid UTF-8")
  }
}
