import PSR
import XCTest

/// One rule for how many examples every fit holds out.
final class ValidationSplitTests: XCTestCase {
  func testHeldOutCounts() {
    XCTAssertEqual(ValidationSplit.heldOut(examples: 24, fraction: 0.2), 5)  // 4.8 rounds to 5
    XCTAssertEqual(ValidationSplit.heldOut(examples: 12, fraction: 0.2), 2)  // 2.4 rounds to 2
    XCTAssertEqual(ValidationSplit.heldOut(examples: 3, fraction: 0.1), 1)  // at least one
    XCTAssertEqual(ValidationSplit.heldOut(examples: 2, fraction: 0.9), 1)  // never all
    XCTAssertEqual(ValidationSplit.heldOut(examples: 1, fraction: 0.5), 0)
    XCTAssertEqual(ValidationSplit.heldOut(examples: 40, fraction: 0), 0)
  }
}
