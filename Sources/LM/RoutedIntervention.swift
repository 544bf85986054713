/// Sequences of one packed batch, each with its own intervention (or none): each member edits
/// only its sequence's rows. Continuous batching steers every request its own way in one forward.
///
/// Rows of a packed batch are grouped by sequence (each chunk's tokens are contiguous), so each
/// member sees a contiguous view of its rows with their slots, exactly as if it ran alone.
public final class RoutedIntervention: Intervention {
  /// Per sequence of the batch (its `TokenSlot.sequence`), the intervention or nil.
  public let members: [(any Intervention)?]
  public let layers: Set<Int>

  public init(_ members: [(any Intervention)?]) {
    self.members = members
    layers = members.reduce(into: Set<Int>()) { $0.formUnion($1?.layers ?? []) }
  }

  public func edit(layer: Int, hidden: HiddenStates) {
    var start = 0
    while start < hidden.rows {
      let sequence = hidden.slots[start].sequence
      var end = start + 1
      while end < hidden.rows && hidden.slots[end].sequence == sequence { end += 1 }
      if let member = members[sequence], member.layers.contains(layer) {
        member.edit(
          layer: layer,
          hidden: HiddenStates(
            pointer: hidden.row(start), rows: end - start, width: hidden.width, slots: Array(hidden.slots[start..<end])))
      }
      start = end
    }
  }
}
