import Report
import XCTest

/// A token's text in a report: whole UTF-8 characters as text, the bytes of a split character as \xNN.
final class TokenTextTests: XCTestCase {
  func testWholeCharactersAreTextAndSplitOnesAreBytes() {
    XCTAssertEqual(TokenText.show(Array(" hi".utf8)), " hi")
    XCTAssertEqual(TokenText.show(Array("é🚀".utf8)), "é🚀")
    XCTAssertEqual(TokenText.show([0xF0, 0x9F]), "\\xF0\\x9F", "the first half of 🚀")
    XCTAssertEqual(TokenText.show([0x9A, 0x80]), "\\x9A\\x80", "its second half")
    XCTAssertEqual(TokenText.show(Array("é".utf8) + [0xE2]), "é\\xE2")
    XCTAssertEqual(TokenText.show([0xED, 0xA0, 0x80]), "\\xED\\xA0\\x80", "a surrogate is not UTF-8")
    XCTAssertEqual(TokenText.show([0xC0, 0x41]), "\\xC0A", "an overlong lead byte, then a character")
    XCTAssertEqual(TokenText.show([]), "")
  }
}
