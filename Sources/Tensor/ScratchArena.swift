import Foundation

/// Zeroed float buffers that live exactly as long as the arena.
///
/// A pointer from `floats(_:)` needs no `withUnsafe…` closure to reach and does not move, so
/// the forward pass can write what it saves for the backward straight into it, and the
/// backward can read it while it writes its own buffers, without closures nested one per
/// buffer. Everything is released together when the arena is.
public final class ScratchArena: @unchecked Sendable {
  private var buffers: [UnsafeMutablePointer<Float>] = []
  private let lock = NSLock()

  public init() {}

  /// A new zeroed buffer of `count` floats (at least one, so that the pointer is never dangling).
  public func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let capacity = max(1, count)
    let p = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
    p.initialize(repeating: 0, count: capacity)
    lock.lock()
    buffers.append(p)
    lock.unlock()
    return p
  }

  deinit {
    for p in buffers { p.deallocate() }
  }
}
