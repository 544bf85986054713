import Foundation
import XCTest

/// A test case that gets a fresh directory under the system's temporary directory for each
/// test, and removes it afterwards, so that no test leaves files behind or sees another's.
open class TemporaryDirectoryTestCase: XCTestCase {
  /// This test's directory; it exists from `setUpWithError` to `tearDownWithError`.
  public private(set) var directory: URL!

  open override func setUpWithError() throws {
    try super.setUpWithError()
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("psr-\(Self.self)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  open override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: directory)
    try super.tearDownWithError()
  }
}
