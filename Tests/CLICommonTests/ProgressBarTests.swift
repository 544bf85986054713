import CLICommon
import XCTest

final class ProgressBarTests: XCTestCase {
  func testEstimateUsesOnlyThisRunsRate() throws {
    // 4 units resumed, 1 unit run in 1500 s: 10 more units take 15000 s, not 3000.
    let eta = try XCTUnwrap(ProgressBar.estimate(elapsed: 1500, done: 5, resumed: 4, total: 15))
    XCTAssertEqual(eta, 15000, accuracy: 1e-9)
  }

  func testEstimateWithoutResumedItems() throws {
    let eta = try XCTUnwrap(ProgressBar.estimate(elapsed: 30, done: 3, resumed: 0, total: 9))
    XCTAssertEqual(eta, 60, accuracy: 1e-9)
  }

  func testNoEstimateBeforeThisRunFinishesAnItem() {
    XCTAssertNil(ProgressBar.estimate(elapsed: 100, done: 4, resumed: 4, total: 15))
    XCTAssertNil(ProgressBar.estimate(elapsed: 0, done: 0, resumed: 0, total: 15))
  }

  func testFinishedRunHasNothingLeft() {
    XCTAssertEqual(ProgressBar.estimate(elapsed: 10, done: 15, resumed: 15, total: 15), 0)
  }

  func testClockFormat() {
    XCTAssertEqual(ProgressBar.clock(59.6), "1:00")
    XCTAssertEqual(ProgressBar.clock(3725), "1:02:05")
  }
}
