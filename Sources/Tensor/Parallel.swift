import Dispatch
import Foundation

/// Work split over the machine's cores for loops that BLAS does not cover.
public enum Parallel {
  /// Runs `body(i)` for i in 0..<count, spread over all cores when `count` is large
  /// enough to pay for the hand-off. `body` must be safe to run concurrently.
  @inlinable
  public static func forEach(_ count: Int, minimumPerThread: Int = 1, _ body: (Int) -> Void) {
    if count < 2 * minimumPerThread {
      for i in 0..<count { body(i) }
      return
    }
    DispatchQueue.concurrentPerform(iterations: count, execute: body)
  }

  /// Splits rows 0..<count into one contiguous range per core (when there are at least
  /// `minimumRows` rows) and runs `body` on each concurrently.
  @inlinable
  public static func rows(_ count: Int, minimumRows: Int = 32, _ body: (Range<Int>) -> Void) {
    let parts = count >= minimumRows ? min(cores, count / max(1, minimumRows / 2)) : 1
    if parts <= 1 {
      body(0..<count)
      return
    }
    DispatchQueue.concurrentPerform(iterations: parts) { p in
      body((count * p / parts)..<(count * (p + 1) / parts))
    }
  }

  public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
}
