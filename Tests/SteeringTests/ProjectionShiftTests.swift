import Foundation
import LM
import Steering
import TestSupport
import XCTest

/// Stolfo et al.'s projection steering: every touched state ends at the target projection with its
/// orthogonal part unchanged; its gradient in the target agrees with finite differences through a
/// model; a steering file carries it, refuses a zero direction, and is not exported as a constant.
final class ProjectionShiftTests: TemporaryDirectoryTestCase {
  func testEditSetsTheProjectionAndKeepsTheRest() throws {
    let model = try DecoderModel(path: try FamilyFixture.load("qwen3").gguf)
    let d = model.configuration.modelDimension
    var g = SeededGenerator(seed: 2)
    let direction = (0..<d).map { _ in g.nextUnit() - 0.5 }
    let unit = direction.map { $0 / direction.reduce(0) { $0 + $1 * $1 }.squareRoot() }
    let shift = ProjectionShift(layer: 1, direction: direction, target: 3.5, positions: .all)
    let before = LayerRecorder(layers: [1])
    let tokens = [5, 9, 14, 40, 41, 60]
    try model.forward([ForwardChunk(tokens: tokens, cache: model.makeCache(capacity: 8), promptLength: 4)], logits: .none, intervention: before)
    // The recorder after the shift sees the edited states.
    let after = LayerRecorder(layers: [1])
    try model.forward(
      [ForwardChunk(tokens: tokens, cache: model.makeCache(capacity: 8), promptLength: 4)], logits: .none,
      intervention: InterventionChain([shift, after]))
    for r in 0..<tokens.count {
      let h0 = Array(before.states[1]![(r * d)..<((r + 1) * d)]), h1 = Array(after.states[1]![(r * d)..<((r + 1) * d)])
      let p0 = zip(h0, unit).reduce(0) { $0 + $1.0 * $1.1 }, p1 = zip(h1, unit).reduce(0) { $0 + $1.0 * $1.1 }
      XCTAssertEqual(p1, 3.5, accuracy: 1e-4, "row \(r): the projection is the target")
      for i in 0..<d { XCTAssertEqual(h1[i] - p1 * unit[i], h0[i] - p0 * unit[i], accuracy: 1e-4, "row \(r): the orthogonal part stays") }
    }
  }

  func testTargetGradientAgreesWithFiniteDifferences() throws {
    let model = try DecoderModel(path: try FamilyFixture.load("qwen3").gguf)
    let d = model.configuration.modelDimension
    var g = SeededGenerator(seed: 6)
    let direction = (0..<d).map { _ in g.nextUnit() - 0.5 }
    let sequences = [TeacherForcedSequence(prompt: [5, 9, 14, 40], response: [60, 61, 70]), TeacherForcedSequence(prompt: [7, 8], response: [30, 31, 32])]
    for positions in [PositionSet.all, .response, .prompt(prefix: 0, suffix: 1)] {
      let shift = ProjectionShift(layer: 1, direction: direction, target: 0.7, positions: positions)
      _ = try model.responseLoss(sequences, intervention: shift, backward: true)
      func loss(_ c: Float) throws -> Double {
        Double(try model.responseLoss(sequences, intervention: ProjectionShift(layer: 1, direction: direction, target: c, positions: positions)))
      }
      let h: Float = 1e-2
      let numeric = (try loss(0.7 + h) - loss(0.7 - h)) / Double(2 * h)
      XCTAssertEqual(numeric, Double(shift.gradientTarget), accuracy: 0.02 * abs(numeric) + 1e-5, "\(positions)")
    }
  }

  func testSteeringFileCarriesProjectionsAndRefusesWhatCannotWork() throws {
    let model = try DecoderModel(path: try FamilyFixture.load("qwen2").gguf)
    let d = model.configuration.modelDimension
    var file = try SteeringFile(kind: .diffmean, for: model)
    file.projections = [ProjectionEntry(layer: 1, positions: .response, direction: [1] + [Float](repeating: 0, count: d - 1), target: 2)]
    let path = directory.appendingPathComponent("p.json").path
    try file.save(path)
    let loaded = try SteeringFile.load(path)
    XCTAssertEqual(loaded, file)
    let shift = try XCTUnwrap(try loaded.intervention(for: model, factor: 0.5) as? ProjectionShift)
    XCTAssertEqual(shift.target, 1, "the factor scales the target")
    XCTAssertThrowsError(try ControlVectorExport.gguf(loaded)) { XCTAssertTrue("\($0)".contains("projection"), "\($0)") }
    XCTAssertThrowsError(try SafetensorsExport.writer(loaded)) { XCTAssertTrue("\($0)".contains("projection"), "\($0)") }
    var zero = file
    zero.projections![0].direction = [Float](repeating: 0, count: d)
    try zero.save(path)
    XCTAssertThrowsError(try SteeringFile.load(path)) { XCTAssertTrue("\($0)".contains("zero direction"), "\($0)") }
    var short = file
    short.projections![0].direction = [1, 0]
    try short.save(path)
    XCTAssertThrowsError(try SteeringFile.load(path)) { XCTAssertTrue("\($0)".contains("has 2 values"), "\($0)") }
  }
}
