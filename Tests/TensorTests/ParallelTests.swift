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

  /// Back-to-back jobs of different sizes, the pattern of decoding: a worker still leaving one
  /// job must never take a part of the next one (running it twice and letting `run` return while
  /// a part of its job was still running — the crash CI met in the pool's first design).
  func testBackToBackJobsEachRunEveryPartOnceBeforeReturning() {
    let sizes = [2, 9, 3, 16, 2, 5, 64, 2]
    let counts = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
    defer { counts.deallocate() }
    var failures = 0
    for job in 0..<200_000 {
      let parts = sizes[job % sizes.count]
      counts.initialize(repeating: 0, count: parts)
      let shared = UnsafeMutableRawPointer(counts)
      Parallel.run(parts: parts) { p in
        shared.advanced(by: p * 4).assumingMemoryBound(to: Int32.self).pointee += 1
      }
      for p in 0..<parts where counts[p] != 1 { failures += 1 }
    }
    XCTAssertEqual(failures, 0)
  }

  func testSinglePartAndNoPartsRunInline() {
    var ran: [Int] = []
    Parallel.run(parts: 1) { ran.append($0) }
    Parallel.run(parts: 0) { ran.append($0) }
    XCTAssertEqual(ran, [0])
  }
}
