/// Reads the residual stream through the hook without changing it: a copy of the packed states
/// (rows × width, in packed order) after each chosen layer, from the last forward pass. Placed first
/// in an `InterventionChain`, it sees the states before the other members edit them.
public final class LayerRecorder: Intervention {
  public let layers: Set<Int>
  public private(set) var states: [Int: [Float]] = [:]

  public init(layers: Set<Int>) { self.layers = layers }

  public func edit(layer: Int, hidden: HiddenStates) {
    states[layer] = Array(UnsafeBufferPointer(start: hidden.pointer, count: hidden.rows * hidden.width))
  }
}
