import Dispatch
import Foundation
import Tensor
import XCTest

final class ParallelTests: XCTestCase {
  /// Every part runs exactly once, also when calls nest or come from several threads at
  /// once (the pool then falls back to libdispatch).
  func testEveryPartRunsOnceUnderNestingAndConcurrentCallers() {
    let lock = NSLock()
    nonisolated(unsafe) var counts = [Int](repeating: 0, count: 8 * 7 * 5)  // guarded by `lock`
    DispatchQueue.concurrentPerform(iterations: 8) { caller in
      for _ in 0..<50 {
        Parallel.run(parts: 7) { outer in
          Parallel.run(parts: 5) { inner in
            lock.lock()
            counts[(caller * 7 + outer) * 5 + inner] += 1
            lock.unlock()
          }
        }
      }
    }
    XCTAssertEqual(Set(counts), [50])
  }

  func testSinglePartAndNoPartsRunInline() {
    var ran: [Int] = []
    Parallel.run(parts: 1) { ran.append($0) }
    Parallel.run(parts: 0) { ran.append($0) }
    XCTAssertEqual(ran, [0])
  }
}
