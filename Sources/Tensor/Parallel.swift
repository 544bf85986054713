import Dispatch
import Foundation

/// Work split over the machine's cores for loops that BLAS does not cover.
public enum Parallel {
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
