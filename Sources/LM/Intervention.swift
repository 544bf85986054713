import Dispatch

/// What a token is within its sequence, so that an intervention can choose where to act.
public enum TokenRole: Sendable, Equatable, Hashable {
  /// A token of the (templated) prompt: `index` from its start, of `length` prompt tokens.
  /// `length - 1 - index` is its index from the prompt's end (the PrOSV "suffix" count).
  case prompt(index: Int, length: Int)
  /// A response token, teacher-forced or generated, `index` from the response's start.
  case response(index: Int)

  public var isPrompt: Bool {
    if case .prompt = self { return true }
    return false
  }
}

/// One row of a packed batch of hidden states.
public struct TokenSlot: Sendable, Equatable {
  /// Index of the sequence within the batch.
  public var sequence: Int
  /// Absolute position in the sequence (RoPE position).
  public var position: Int
  public var role: TokenRole

  public init(sequence: Int, position: Int, role: TokenRole) {
    self.sequence = sequence
    self.position = position
    self.role = role
  }
}

/// A view of hidden states: `rows` tokens × `width` floats, row-major, with each row's slot.
public struct HiddenStates {
  public let pointer: UnsafeMutablePointer<Float>
  public let rows: Int
  public let width: Int
  public let slots: [TokenSlot]

  public init(pointer: UnsafeMutablePointer<Float>, rows: Int, width: Int, slots: [TokenSlot]) {
    self.pointer = pointer
    self.rows = rows
    self.width = width
    self.slots = slots
  }

  /// Row `r` as a pointer to `width` floats.
  public func row(_ r: Int) -> UnsafeMutablePointer<Float> { pointer + r * width }
}

/// The one hook through which every edit or read of the residual stream enters the model.
///
/// The model calls `edit` with the residual stream after block `layer` (Hugging Face's
/// `hidden_states[layer + 1]`) for every layer in `layers`, during prefill, decoding and
/// teacher forcing alike, for the whole packed batch at once. Implementations may change
/// the states in place; reading them without change is how capture works.
///
/// For training, `backward` maps the loss gradient with respect to the edited states to
/// the gradient with respect to the states before the edit, in place, and accumulates the
/// gradient of the intervention's own parameters. `input` holds the states before the edit.
/// The default is the identity with no parameters, right for any additive edit.
public protocol Intervention: AnyObject {
  /// The layers this intervention sees.
  var layers: Set<Int> { get }
  func edit(layer: Int, hidden: HiddenStates)
  func backward(layer: Int, input: HiddenStates, gradient: HiddenStates)
}

extension Intervention {
  public func backward(layer: Int, input: HiddenStates, gradient: HiddenStates) {}
}

/// Several interventions applied in order at each layer.
public final class InterventionChain: Intervention {
  public let members: [any Intervention]
  public let layers: Set<Int>

  public init(_ members: [any Intervention]) {
    self.members = members
    layers = members.reduce(into: Set<Int>()) { $0.formUnion($1.layers) }
  }

  public func edit(layer: Int, hidden: HiddenStates) {
    for m in members where m.layers.contains(layer) { m.edit(layer: layer, hidden: hidden) }
  }

  public func backward(layer: Int, input: HiddenStates, gradient: HiddenStates) {
    // Backward needs each member's own input, so only a chain whose members ignore
    // their inputs (additive edits) can be differentiated this way.
    for m in members.reversed() where m.layers.contains(layer) {
      m.backward(layer: layer, input: input, gradient: gradient)
    }
  }
}

/// Wraps an intervention and accumulates the wall time spent in its edits: its per-token cost,
/// measured directly, where an A/B comparison of two runs would drown in machine noise.
public final class TimedIntervention: Intervention {
  public let inner: any Intervention
  public private(set) var seconds: Double = 0
  public var layers: Set<Int> { inner.layers }

  public init(_ inner: any Intervention) { self.inner = inner }

  public func edit(layer: Int, hidden: HiddenStates) {
    let start = DispatchTime.now().uptimeNanoseconds
    inner.edit(layer: layer, hidden: hidden)
    seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }

  public func backward(layer: Int, input: HiddenStates, gradient: HiddenStates) {
    inner.backward(layer: layer, input: input, gradient: gradient)
  }
}
