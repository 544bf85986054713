import Compare
import Foundation
import XCTest

/// A unit that an earlier run began (a finished stage, or a capture still being written) does
/// only its last part in this run, so the progress bar leaves it out of its rate.
final class UnitBegunTests: XCTestCase {
  func testStagesOrAPartialCaptureMarkAUnitBegun() throws {
    let fm = FileManager.default
    let unit = fm.temporaryDirectory.appendingPathComponent("unit-begun-\(UUID().uuidString)").path
    defer { try? fm.removeItem(atPath: unit) }
    XCTAssertFalse(BenchSuite.unitIsBegun(unit), "no folder yet")
    try fm.createDirectory(atPath: unit + "/stages", withIntermediateDirectories: true)
    XCTAssertFalse(BenchSuite.unitIsBegun(unit), "an empty stages folder")
    XCTAssertTrue(fm.createFile(atPath: unit + "/capture.h5.partial", contents: Data([0])))
    XCTAssertTrue(BenchSuite.unitIsBegun(unit), "a capture being written")
    try fm.removeItem(atPath: unit + "/capture.h5.partial")
    XCTAssertTrue(fm.createFile(atPath: unit + "/stages/capture.json", contents: Data(#"{"seconds":1}"#.utf8)))
    XCTAssertTrue(BenchSuite.unitIsBegun(unit), "a finished stage")
  }
}
