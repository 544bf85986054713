import LM

/// Runs an intervention whose edit is linear in its strength (additive vectors, PSR gates:
/// h′ = h + α·c(h)·v) with a different factor per sequence, by scaling each row's edit:
/// h ← h + f(sequence)·(edit(h) − h). Lets one batched generation cover every factor.
public final class SequenceScaledIntervention: Intervention {
  public let inner: any Intervention
  public let factors: [Float]
  public var layers: Set<Int> { inner.layers }

  public init(_ inner: any Intervention, factors: [Float]) {
    self.inner = inner
    self.factors = factors
  }

  public func edit(layer: Int, hidden: HiddenStates) {
    let before = Array(UnsafeBufferPointer(start: hidden.pointer, count: hidden.rows * hidden.width))
    inner.edit(layer: layer, hidden: hidden)
    for r in 0..<hidden.rows {
      let f = factors[hidden.slots[r].sequence]
      if f == 1 { continue }
      let row = hidden.row(r)
      for i in 0..<hidden.width {
        let old = before[r * hidden.width + i]
        row[i] = old + f * (row[i] - old)
      }
    }
  }
}
