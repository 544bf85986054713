import Dispatch

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
}
