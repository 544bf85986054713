/// Keys and values of one sequence for every layer, so that decoding a token attends to
/// the past without recomputing it.
///
/// Layout: for layer l, position p, the key vector (all key/value heads, `kvDimension`
/// floats) sits at `keys[l][slot(p) * kvDimension ..< (slot(p) + 1) * kvDimension]`; values
/// alike. Keys are stored after RoPE. A global layer's slot is the position, and its storage
/// grows by doubling. A sliding layer keeps only its window: its storage grows the same way up
/// to `window` positions and is then a ring, slot = p mod window, because no later query can
/// see a key older than that. The cache's memory then grows with the global layers only.
public final class KVCache {
  public let layerCount: Int
  public let kvDimension: Int
  /// Positions filled so far; the next token goes to position `count`.
  public private(set) var count: Int = 0
  /// Per layer, the window its keys are kept for; nil where every position is kept.
  public let windows: [Int?]
  /// Per layer, how many positions its storage holds now.
  public private(set) var capacities: [Int]
  var keys: [[Float]]
  var values: [[Float]]
  /// The tokens whose keys the cache holds, so that a model whose rotation depends on the
  /// sequence's length (LongRoPE) can run them again.
  private(set) var tokens: [Int] = []
  /// Whether the keys were rotated with LongRoPE's long factors.
  var rotatedLong = false

  public init(configuration: DecoderConfiguration, capacity: Int = 256) {
    layerCount = configuration.layerCount
    kvDimension = configuration.keyValueDimension
    windows = (0..<configuration.layerCount).map { configuration.window(layer: $0) }
    capacities = windows.map { min(max(1, capacity), $0 ?? Int.max) }
    keys = capacities.map { [Float](repeating: 0, count: $0 * configuration.keyValueDimension) }
    values = keys
  }

  /// The largest number of positions any layer holds.
  public var capacity: Int { capacities.max() ?? 0 }

  /// Bytes of keys and values held, over every layer.
  public var byteCount: Int { capacities.reduce(0, +) * kvDimension * 2 * MemoryLayout<Float>.stride }

  /// Where position `position` of layer `l` is stored.
  @inline(__always)
  func slot(_ position: Int, layer l: Int) -> Int {
    guard let window = windows[l] else { return position }
    return position % window
  }

  /// Whether layer `l` keeps a ring that has wrapped: its slots then hold the last `window`
  /// positions out of order.
  func wrapped(layer l: Int, total: Int) -> Bool {
    guard let window = windows[l] else { return false }
    return total > window
  }

  /// Makes room for `extra` more positions.
  func reserve(_ extra: Int) {
    let needed = count + extra
    for l in 0..<layerCount {
      let limit = windows[l] ?? Int.max
      let target = min(needed, limit)
      guard capacities[l] < target else { continue }
      var newCapacity = capacities[l]
      while newCapacity < target { newCapacity *= 2 }
      newCapacity = min(newCapacity, limit)
      keys[l].append(contentsOf: repeatElement(0, count: (newCapacity - capacities[l]) * kvDimension))
      values[l].append(contentsOf: repeatElement(0, count: (newCapacity - capacities[l]) * kvDimension))
      capacities[l] = newCapacity
    }
  }

  /// Marks `n` more positions as filled (after every layer has written them).
  func advance(with newTokens: [Int]) {
    count += newTokens.count
    tokens += newTokens
  }

  /// Forgets everything, keeping the storage, so that the past can be run again.
  func reset() {
    count = 0
    tokens = []
    rotatedLong = false
  }

  /// Forgets positions from `position` on, so that they can be recomputed. A sliding layer's
  /// ring has already dropped keys older than its window, so the cache can go back at most one
  /// position further than the ring still covers; otherwise this throws and changes nothing.
  public func truncate(to position: Int) throws {
    guard position >= 0 && position <= count else {
      throw ModelError.invalidConfiguration("cannot truncate a cache of \(count) positions to \(position)")
    }
    // The next token at `position` needs keys from position − window + 1 on; a wrapped ring
    // holds count − window … count − 1, so only `count − 1` (or `count`) is still reachable.
    if let window = windows.compactMap({ $0 }).min(), count > window, position < count - 1 {
      throw ModelError.invalidConfiguration(
        "cannot truncate to position \(position): a sliding layer kept only the last \(window) of \(count) positions")
    }
    count = position
    tokens.removeLast(tokens.count - position)
  }

  /// A copy holding the same past; decoding one continues independently of the other.
  public func copy() -> KVCache {
    let c = KVCache(layerCount: layerCount, kvDimension: kvDimension, windows: windows, capacities: capacities)
    c.keys = keys
    c.values = values
    c.count = count
    c.tokens = tokens
    c.rotatedLong = rotatedLong
    return c
  }

  private init(layerCount: Int, kvDimension: Int, windows: [Int?], capacities: [Int]) {
    self.layerCount = layerCount
    self.kvDimension = kvDimension
    self.windows = windows
    self.capacities = capacities
    keys = []
    values = []
  }
}
