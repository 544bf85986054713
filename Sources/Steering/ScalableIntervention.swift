import LM

/// An intervention whose edit is linear in its strength (h ← h + α·c(h)·v), so that a factor f makes
/// the same intervention at α·f: what a factor sweep steers each sequence with.
public protocol ScalableIntervention: Intervention {
  func scaled(by factor: Float) -> any Intervention
}

extension AdditiveVector: ScalableIntervention {
  public func scaled(by factor: Float) -> any Intervention {
    AdditiveVector(layer: layer, alpha: alpha * factor, vector: vector, positions: positions)
  }
}

extension PSRGate: ScalableIntervention {
  public func scaled(by factor: Float) -> any Intervention { PSRGate(gates: gates, alpha: alpha * factor) }
}

extension InterventionChain: ScalableIntervention {
  /// Each member scaled; a member that cannot be scaled is a programming error.
  public func scaled(by factor: Float) -> any Intervention {
    InterventionChain(
      members.map { member in
        guard let scalable = member as? any ScalableIntervention else {
          preconditionFailure("\(type(of: member)) has no strength to scale")
        }
        return scalable.scaled(by: factor)
      })
  }
}
