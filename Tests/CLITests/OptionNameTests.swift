import Foundation
import TestSupport
import XCTest

/// Every long option of every verb reads as written in the docs: ArgumentParser derives names from
/// Swift properties, and `conceptIDs` became `--concept-i-ds`. A one-letter word inside a name is that
/// mistake (a last one, as in `--top-k`, is not).
final class OptionNameTests: XCTestCase {
  func testNoDerivedOptionNameSplitsAnAcronym() throws {
    var names: [String] = []
    func walk(_ command: [String: Any], _ path: String) {
      for argument in command["arguments"] as? [[String: Any]] ?? [] {
        for name in argument["names"] as? [[String: Any]] ?? [] where name["kind"] as? String == "long" {
          names.append("\(path) --\(name["name"] as! String)")
        }
      }
      for sub in command["subcommands"] as? [[String: Any]] ?? [] { walk(sub, path + " " + (sub["commandName"] as! String)) }
    }
    for tool in ["psr", "capture", "compare"] {
      let dump = try CommandLineTool.run(tool, ["--experimental-dump-help"])
      XCTAssertEqual(dump.status, 0, dump.stderr)
      let object = try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as! [String: Any]
      walk(object["command"] as! [String: Any], tool)
    }
    XCTAssertGreaterThan(names.count, 100)
    for n in names {
      let words = n.split(separator: " ").last!.dropFirst(2).split(separator: "-")
      XCTAssertFalse(words.dropLast().contains { $0.count == 1 }, "\(n): a one-letter word inside an option name")
    }
    XCTAssertTrue(names.contains("compare run --concept-ids"), "compare's documented --concept-ids")
    XCTAssertTrue(names.contains("psr sv train --factor-lr"))
  }
}
