import CLICommon
import XCTest

final class JSONTextTests: XCTestCase {
  private struct Output: Encodable {
    var bestFactor: Double
    var promptIds: [Int]
    var byLayer: [String: Int]
  }

  /// Output types' fields are written in snake_case, sorted; their dictionaries' keys are left alone.
  func testOutputFieldsInSnakeCase() throws {
    XCTAssertEqual(
      try JSONText.encode(Output(bestFactor: 0.5, promptIds: [1, 2], byLayer: ["10": 1, "someLayer": 2])),
      #"{"best_factor":0.5,"by_layer":{"10":1,"someLayer":2},"prompt_ids":[1,2]}"#)
  }

  /// A user's keys (a judge file's line) come back exactly as written.
  func testUsersKeysAsWritten() throws {
    let line: [String: [String: Int]] = ["Meta": ["camelCase": 1], "userID": ["a/b": 2]]
    XCTAssertEqual(try JSONText.encode(line, keys: .asWritten), #"{"Meta":{"camelCase":1},"userID":{"a/b":2}}"#)
  }
}
