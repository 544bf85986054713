import Foundation
import Tensor

/// The residual stream after block `layer` (before any edit there), per sequence, from an
/// unsteered pass. While an intervention edits only at `layer` and above, blocks 0…`layer`
/// see the same input on every pass, so training runs that revisit the same sequences
/// (epochs) restart from these states instead of recomputing the frozen lower layers.
///
/// States are computed on first use, for the sequences of that pass, and kept by token
/// content while they fit `capacityBytes` (`tokens × modelDimension` floats a sequence);
/// past that, the missing sequences' states are computed for each pass and not kept.
public final class FrozenPrefix {
  public let layer: Int
  public let capacityBytes: Int
  private var states: [[Int]: Matrix] = [:]
  private var heldBytes = 0
  private let lock = NSLock()

  public init(layer: Int, capacityBytes: Int = 1 << 30) {
    self.layer = layer
    self.capacityBytes = capacityBytes
  }

  /// Sequences held.
  public var count: Int {
    lock.lock()
    defer { lock.unlock() }
    return states.count
  }

  /// The packed states of `chunks` (whose caches must be empty), computing the missing ones.
  func packedStates(for chunks: [ForwardChunk], model: DecoderModel) throws -> Matrix {
    lock.lock()
    defer { lock.unlock() }
    let missing = chunks.filter { states[$0.tokens] == nil }
    var passing: [[Int]: Matrix] = [:]
    if !missing.isEmpty {
      let fresh = missing.map {
        ForwardChunk(tokens: $0.tokens, cache: model.makeCache(capacity: $0.tokens.count), promptLength: $0.promptLength)
      }
      let packed = try model.blockOutput(fresh, through: layer)
      var row = 0
      for chunk in missing {
        let n = chunk.tokens.count
        let m = Matrix(rows: n, cols: packed.cols, storage: Array(packed.storage[(row * packed.cols)..<((row + n) * packed.cols)]))
        if heldBytes + 4 * m.storage.count <= capacityBytes {
          states[chunk.tokens] = m
          heldBytes += 4 * m.storage.count
        } else {
          passing[chunk.tokens] = m
        }
        row += n
      }
    }
    let d = model.configuration.modelDimension
    var out = Matrix(rows: chunks.reduce(0) { $0 + $1.tokens.count }, cols: d)
    var row = 0
    for chunk in chunks {
      let s = states[chunk.tokens] ?? passing[chunk.tokens]!
      out.storage.replaceSubrange((row * d)..<((row + s.rows) * d), with: s.storage)
      row += s.rows
    }
    return out
  }
}
