import Foundation
import Tensor

/// What a forward pass keeps for the backward pass: per traced layer the block's `BlockSaved`
/// record (its input, attention's rows and probabilities, the state between its halves, the
/// feed-forward's pre-activations or routing), the states before each intervention edit, and
/// the final block output. The attention probabilities live in the trace's arena.
///
/// Storing instead of recomputing costs about 5.2k floats per token per layer plus the
/// probabilities (≈ 320 MB for 512 tokens on SmolLM2-135M) and saves a second forward pass.
public final class ForwardTrace {
  private(set) var batch: PackedBatch?
  private(set) var blocks: [BlockSaved?] = []
  private(set) var editInputs: [Int: Matrix] = [:]
  private(set) var final = Matrix(rows: 0, cols: 0)
  private(set) var arena = ScratchArena()
  /// Layers below this are not recorded: backward never reaches them.
  public let lowestLayer: Int

  public init(lowestLayer: Int = 0) { self.lowestLayer = lowestLayer }

  func covers(_ layer: Int) -> Bool { layer >= lowestLayer }

  /// Starts a new pass: what an earlier one kept is released.
  func begin(batch: PackedBatch, configuration c: DecoderConfiguration) {
    self.batch = batch
    blocks = Array(repeating: nil, count: c.layerCount)
    editInputs = [:]
    final = Matrix(rows: 0, cols: 0)
    arena = ScratchArena()
  }

  /// The arena for block `layer`'s record, or nil where the layer is not traced.
  func arena(forLayer layer: Int) -> ScratchArena? { covers(layer) ? arena : nil }

  func record(layer: Int, _ saved: BlockSaved?) { blocks[layer] = saved }
  func recordEditInput(layer: Int, _ x: Matrix) { editInputs[layer] = x }
  func recordFinal(_ x: Matrix) { final = x }

  /// Block `layer`'s record; the backward asks only for traced layers.
  func saved(layer: Int) -> BlockSaved {
    guard let saved = blocks[layer] else { preconditionFailure("layer \(layer) was not traced") }
    return saved
  }

  /// The output of the last block (after any edit), one row per packed token.
  public var finalHidden: Matrix { final }

  /// The output of block `layer` after any edit (the next block's input), for traced layers.
  public func output(ofLayer layer: Int) -> Matrix {
    layer + 1 < blocks.count ? saved(layer: layer + 1).input : final
  }
}
