/// Keys and values of one sequence for every layer, so that decoding a token attends to
/// the past without recomputing it.
///
/// Layout: for layer l, position p, the key vector (all key/value heads, `kvDimension`
/// floats) sits at `keys[l][p * kvDimension ..< (p + 1) * kvDimension]`; values alike.
/// Keys are stored after RoPE. Capacity grows by doubling.
public final class KVCache {
  public let layerCount: Int
  public let kvDimension: Int
  /// Positions filled so far; the next token goes to position `count`.
  public private(set) var count: Int = 0
  public private(set) var capacity: Int
  var keys: [[Float]]
  var values: [[Float]]

  public init(configuration: DecoderConfiguration, capacity: Int = 256) {
    layerCount = configuration.layerCount
    kvDimension = configuration.keyValueDimension
    self.capacity = max(1, capacity)
    keys = Array(repeating: [Float](repeating: 0, count: self.capacity * kvDimension), count: layerCount)
    values = keys
  }

  /// Makes room for `extra` more positions.
  func reserve(_ extra: Int) {
    guard count + extra > capacity else { return }
    var newCapacity = capacity
    while newCapacity < count + extra { newCapacity *= 2 }
    for l in 0..<layerCount {
      keys[l].append(contentsOf: repeatElement(0, count: (newCapacity - capacity) * kvDimension))
      values[l].append(contentsOf: repeatElement(0, count: (newCapacity - capacity) * kvDimension))
    }
    capacity = newCapacity
  }

  /// Marks `n` more positions as filled (after every layer has written them).
  func advance(by n: Int) { count += n }

  /// Forgets positions from `position` on, so that they can be recomputed.
  public func truncate(to position: Int) {
    precondition(position >= 0 && position <= count, "cannot truncate to \(position) of \(count)")
    count = position
  }

  /// A copy holding the same past; decoding one continues independently of the other.
  public func copy() -> KVCache {
    let c = KVCache(layerCount: layerCount, kvDimension: kvDimension, capacity: capacity)
    c.keys = keys
    c.values = values
    c.count = count
    return c
  }

  private init(layerCount: Int, kvDimension: Int, capacity: Int) {
    self.layerCount = layerCount
    self.kvDimension = kvDimension
    self.capacity = capacity
    keys = []
    values = []
  }
}
