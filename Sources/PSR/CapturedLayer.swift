import Foundation
import LM
import Store

/// One layer of a capture in memory, split into training and validation examples.
public struct CapturedLayer: Sendable {
  public let layer: Int
  public let width: Int
  /// Unprompted states h and deltas Δ, `rows × width`, training rows first.
  public let base: [Float]
  public let delta: [Float]
  /// Example boundaries (row offsets) of the training part, then of the validation part.
  public let trainExamples: [Range<Int>]
  public let validationExamples: [Range<Int>]

  public var trainRows: Range<Int> { 0..<(trainExamples.last?.upperBound ?? 0) }
  public var validationRows: Range<Int> { trainRows.upperBound..<(base.count / width) }

  /// Reads `layer` and splits examples at random (seeded) into validation (`fraction`) and training.
  public init(reader: ActivationReader, layer: Int, validationFraction: Double, seed: UInt64) throws {
    self.layer = layer
    width = reader.header.modelDimension
    var order = Array(0..<reader.exampleCount)
    var generator = SeededGenerator(seed: seed)
    order.shuffle(using: &generator)
    let validationCount = ValidationSplit.heldOut(examples: reader.exampleCount, fraction: validationFraction)
    let validation = Array(order.prefix(validationCount)).sorted()
    let training = Array(order.dropFirst(validationCount)).sorted()
    let allBase = try reader.base(layer: layer)
    let allDelta = try reader.delta(layer: layer)
    var base: [Float] = []
    var delta: [Float] = []
    var trainRanges: [Range<Int>] = []
    var validationRanges: [Range<Int>] = []
    for (group, isTraining) in [(training, true), (validation, false)] {
      for e in group {
        let rows = reader.tokenOffsets[e]..<reader.tokenOffsets[e + 1]
        let start = base.count / width
        base += allBase[(rows.lowerBound * width)..<(rows.upperBound * width)]
        delta += allDelta[(rows.lowerBound * width)..<(rows.upperBound * width)]
        let range = start..<(start + rows.count)
        if isTraining { trainRanges.append(range) } else { validationRanges.append(range) }
      }
    }
    self.base = base
    self.delta = delta
    trainExamples = trainRanges
    validationExamples = validationRanges
  }
}
