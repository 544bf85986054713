import CKernels
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
    // libdispatch, not the spinning pool: these loops run between OpenBLAS calls (prefill,
    // training), whose own threads need the cores.
    perform(parts) { p in body((count * p / parts)..<(count * (p + 1) / parts)) }
  }

  /// Runs `body(p)` for p in 0..<parts on libdispatch's threads and returns when all are done.
  ///
  /// `body` need not be `@Sendable`: the callers' closures write through raw pointers, each part
  /// to its own rows, which is what makes calling them on several threads at once correct and what
  /// the compiler cannot see; and `body` is called only until this returns.
  @inlinable
  public static func perform(_ parts: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { escapable in
      nonisolated(unsafe) let body = escapable
      DispatchQueue.concurrentPerform(iterations: parts) { body($0) }
    }
  }

  /// Runs `body(p)` for p in 0..<parts concurrently and returns when all are done.
  ///
  /// For the short loops of decoding (a few hundred a token): a persistent pool whose workers
  /// spin briefly between jobs, since waking a sleeping thread costs about as much as one
  /// loop. When the pool is busy (a nested or concurrent call) it uses libdispatch.
  public static func run(parts: Int, _ body: (Int) -> Void) {
    guard parts > 1 else {
      if parts == 1 { body(0) }
      return
    }
    let ran = withoutActuallyEscaping(body) { escapable in
      var task = escapable
      return withUnsafeMutablePointer(to: &task) { pointer in
        psr_pool_run(
          Int32(parts),
          { context, p in
            context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(p))
          }, pointer)
      }
    }
    if ran == 0 { perform(parts, body) }
  }

  /// Runs `body(lo, hi)` over consecutive ranges covering 0..<rows: one range below 8 rows, else
  /// two a core (the per-row loops of the activation quantizers).
  static func rows(_ rows: Int, _ body: (_ lo: Int, _ hi: Int) -> Void) {
    let parts = rows >= 8 ? min(rows, 2 * max(1, cores)) : 1
    run(parts: parts) { p in
      let lo = rows * p / parts, hi = rows * (p + 1) / parts
      if lo < hi { body(lo, hi) }
    }
  }

  public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
}
