import Foundation
import LM
import XCTest

/// The data files' line reader: lines numbered as an editor numbers them (blank ones counted and
/// skipped, a Windows line end accepted), each line decoded on its own so one bad line names itself.
final class JSONLinesTests: XCTestCase {
  struct Pair: Decodable, Equatable {
    var instruction: String
    var output: String
  }

  func testNumbersLinesAsAnEditorDoesAndDecodesEachOnItsOwn() throws {
    let text = """
      {"instruction": "a", "output": "b"}\r

         \t
      {"instruction": "c"}
      not json
      {"instruction": "é\\u00e9", "output": "\\ud83d\\ude00", "extra": [1, 2]}
      """
    let lines = JSONLines.decode(Pair.self, from: text)
    XCTAssertEqual(lines.map(\.number), [1, 4, 5, 6])
    XCTAssertEqual(try lines[0].value.get(), Pair(instruction: "a", output: "b"))
    XCTAssertThrowsError(try lines[1].value.get()) { XCTAssertEqual("\($0)", "the field 'output' is missing") }
    XCTAssertThrowsError(try lines[2].value.get()) { XCTAssertEqual("\($0)", "it is not valid JSON") }
    // Escapes decode to the same scalars JSONSerialization gives (compared as bytes, not as
    // canonically equivalent Strings).
    let last = try lines[3].value.get()
    XCTAssertEqual(Array(last.instruction.utf8), Array("é\u{e9}".utf8))
    XCTAssertEqual(Array(last.output.utf8), [0xF0, 0x9F, 0x98, 0x80])
  }

  func testLenientFieldsTakeOnlyTheirType() throws {
    struct Line: Decodable {
      var label: String?
      enum CodingKeys: String, CodingKey { case label }
      init(from decoder: any Decoder) throws { label = try decoder.container(keyedBy: CodingKeys.self).lenient(String.self, forKey: .label) }
    }
    let lines = JSONLines.decode(Line.self, from: "{\"label\": 3}\n{\"label\": \"x\"}\n{}\n{\"label\": null}")
    XCTAssertEqual(try lines.map { try $0.value.get().label }, [nil, "x", nil, nil])
  }
}
