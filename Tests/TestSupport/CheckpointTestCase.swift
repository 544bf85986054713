import Foundation
import LM
import XCTest

/// A test case that copies a fixture checkpoint into its temporary directory, edits its
/// config.json, and checks that loading fails with one line naming what is wrong.
open class CheckpointTestCase: TemporaryDirectoryTestCase {
  /// A copy of `source` (a Hugging Face directory) under this test's directory.
  public func copyOfCheckpoint(_ source: String, named name: String = "hf") throws -> String {
    let copy = directory.appendingPathComponent(name).path
    try FileManager.default.copyItem(atPath: source, toPath: copy)
    return copy
  }

  /// Rewrites `directory/config.json` with `edit` applied.
  public func editConfig(_ directory: String, _ edit: (inout [String: Any]) -> Void) throws {
    let url = URL(fileURLWithPath: directory + "/config.json")
    var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    edit(&json)
    try JSONSerialization.data(withJSONObject: json).write(to: url)
  }

  /// Loading `path` throws an error of one line that contains each of `parts`.
  public func assertLoadFails(_ path: String, mentioning parts: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try DecoderModel(path: path), file: file, line: line) { error in
      let message = "\(error)"
      XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
      for part in parts { XCTAssertTrue(message.contains(part), "'\(message)' names \(part)", file: file, line: line) }
    }
  }
}
