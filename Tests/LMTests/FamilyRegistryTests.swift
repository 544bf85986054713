import LM
import TestSupport
import XCTest

final class FamilyRegistryTests: XCTestCase {
  /// The registry the FamilyList plugin writes holds every family file's description, and each
  /// has the tiny checkpoint that the family tests run on.
  func testEveryFamilyFileIsRegisteredAndTested() {
    let names = ModelFamily.supported.map(\.rawValue)
    XCTAssertEqual(Set(names), Set(FamilyFixture.families))
  }

  /// Help texts list the families as "a, b or c".
  func testHelpListNamesEveryFamily() {
    let list = ModelFamily.supportedList
    XCTAssertTrue(list.hasSuffix(" or " + ModelFamily.supported.last!.rawValue), list)
    for family in ModelFamily.supported { XCTAssertTrue(list.contains(family.rawValue), family.rawValue) }
    XCTAssertEqual(list.components(separatedBy: ", ").count, ModelFamily.supported.count - 1)
  }
}
