import ArgumentParser
import CLICommon
import XCTest

/// The argument checks and the `--x -1` rewrite.
final class CheckTests: XCTestCase {
  func testListsRejectBadAndEmptyEntries() throws {
    XCTAssertEqual(try Check.integers("3, 12,0", "--layers"), [3, 12, 0])
    for bad in ["", "3,x", "3,,4", "-1", " , "] {
      XCTAssertThrowsError(try Check.integers(bad, "--layers"), bad) { XCTAssertTrue("\($0)".contains("--layers"), "\($0)") }
    }
    XCTAssertThrowsError(try Check.numbers("1,nan", "--factors"))
    // A repeated value, however written, is named rather than run twice or merged.
    for (text, entry) in [("3,4,3", "'3'"), ("3, 03", "'03'")] {
      XCTAssertThrowsError(try Check.integers(text, "--concept-ids")) { XCTAssertTrue("\($0)".contains("--concept-ids: \(entry) repeats"), "\($0)") }
    }
    XCTAssertThrowsError(try Check.numbers("0.5,1,1.0", "--factors")) { XCTAssertTrue("\($0)".contains("'1.0' repeats"), "\($0)") }
    XCTAssertThrowsError(try Check.names("none,prompt,none", "--methods", allowed: ["none", "prompt"]))
    XCTAssertEqual(try Check.numbers("0.5,1", "--factors"), [0.5, 1])
    XCTAssertThrowsError(try Check.names("axbench,persna", "--bench", allowed: ["axbench", "persona"])) {
      XCTAssertTrue("\($0)".contains("persna"))
    }
  }

  func testNumbersMustBeFiniteAndInRange() {
    XCTAssertThrowsError(try Check.finite(Float.nan, "--temperature"))
    XCTAssertThrowsError(try Check.finite(Double.infinity, "--timeout"))
    XCTAssertThrowsError(try Check.finite(Float(-1), "--temperature", in: 0...2))
    XCTAssertNoThrow(try Check.finite(Float?.none, "--temperature", in: 0...2))
    XCTAssertThrowsError(try Check.atLeast(-1, 0, "--limit")) { XCTAssertTrue("\($0)".contains("--limit")) }
    XCTAssertThrowsError(try Check.within(0, 1...9, "--gzip"))
  }

  func testNegativeValuesJoinTheirOption() {
    XCTAssertEqual(
      joiningNegativeValues(["--limit", "-1", "--special", "--t", "-inf", "--", "--x", "-2", "-v"]),
      ["--limit=-1", "--special", "--t=-inf", "--", "--x", "-2", "-v"])
  }
}
