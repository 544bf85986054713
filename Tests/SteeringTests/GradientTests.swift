import LM
import Steering
import TestSupport
import XCTest

/// Steering-vector gradients through the frozen model against PyTorch autograd
/// (grad.jsonl), and against finite differences.
final class GradientTests: XCTestCase {
  struct Case {
    var sequence: TeacherForcedSequence
    var layer: Int
    var positions: PositionSet
    var alpha: Float
    var vector: [Float]
    var loss: Float
    var gradAlpha: Float
    var gradVector: [Float]
  }

  private func cases() throws -> [Case] {
    try Fixtures.jsonLines("smollm2-135m-instruct-q4_1/grad.jsonl").map { line in
      Case(
        sequence: TeacherForcedSequence(prompt: line["prompt_ids"] as! [Int], response: line["response_ids"] as! [Int]),
        layer: line["layer"] as! Int, positions: try PositionSet(parsing: line["positions"] as! String),
        alpha: Float(line["alpha"] as! Double), vector: (line["v"] as! [Double]).map(Float.init),
        loss: Float(line["loss"] as! Double), gradAlpha: Float(line["grad_alpha"] as! Double),
        gradVector: (line["grad_v"] as! [Double]).map(Float.init))
    }
  }

  func testLossAndGradientsMatchPyTorch() throws {
    let model = try Fixtures.model()
    let all = try cases()
    XCTAssertEqual(all.count, 8)
    for (i, c) in all.enumerated() {
      let steering = AdditiveVector(layer: c.layer, alpha: c.alpha, vector: c.vector, positions: c.positions)
      let loss = try model.responseLoss([c.sequence], intervention: steering, backward: true)
      XCTAssertEqual(loss, c.loss, accuracy: 1e-3 * c.loss, "case \(i) loss")
      let g = steering.gradientVector
      let difference = zip(g, c.gradVector).map { $0 - $1 }
      XCTAssertLessThan(difference.norm / c.gradVector.norm, 1e-2, "case \(i) grad_v relative error")
      let cosine = zip(g, c.gradVector).reduce(0) { $0 + $1.0 * $1.1 } / (g.norm * c.gradVector.norm)
      XCTAssertGreaterThan(cosine, 0.999, "case \(i) grad_v cosine")
      XCTAssertTrue(
        abs(steering.gradientAlpha - c.gradAlpha) <= max(1e-2 * abs(c.gradAlpha), 1e-5),
        "case \(i) grad_alpha \(steering.gradientAlpha) vs \(c.gradAlpha)")
    }
  }

  func testGradientAgreesWithFiniteDifferences() throws {
    let model = try Fixtures.model()
    for c in try cases().prefix(2) {
      let steering = AdditiveVector(layer: c.layer, alpha: c.alpha, vector: c.vector, positions: c.positions)
      _ = try model.responseLoss([c.sequence], intervention: steering, backward: true)
      var g = SeededGenerator(seed: 11)
      // A direction with a real component along the gradient, so the difference is measurable.
      var u = zip(steering.gradientVector, (0..<c.vector.count).map { _ in g.nextUnit() - 0.5 }).map {
        $0 / steering.gradientVector.norm + $1 / 10
      }
      let un = u.norm
      u = u.map { $0 / un }
      let epsilon: Float = 0.05
      func loss(_ sign: Float) throws -> Float {
        let v = zip(c.vector, u).map { $0 + sign * epsilon * $1 }
        return try model.responseLoss(
          [c.sequence], intervention: AdditiveVector(layer: c.layer, alpha: c.alpha, vector: v, positions: c.positions))
      }
      let numeric = (try loss(1) - loss(-1)) / (2 * epsilon)
      let analytic = zip(steering.gradientVector, u).reduce(0) { $0 + $1.0 * $1.1 }
      XCTAssertEqual(numeric, analytic, accuracy: 0.03 * abs(analytic), "directional derivative")
      // dL/dα by central differences.
      func lossAlpha(_ a: Float) throws -> Float {
        try model.responseLoss(
          [c.sequence], intervention: AdditiveVector(layer: c.layer, alpha: a, vector: c.vector, positions: c.positions))
      }
      let numericAlpha = (try lossAlpha(c.alpha + 0.25) - lossAlpha(c.alpha - 0.25)) / 0.5
      XCTAssertEqual(numericAlpha, steering.gradientAlpha, accuracy: max(0.05 * abs(steering.gradientAlpha), 2e-4))
    }
  }

  /// Restarting from cached states after the vector's layer gives the same loss and gradient
  /// as running every block, on the second visit as on the first.
  func testFrozenPrefixGivesTheSameLossAndGradient() throws {
    let model = try Fixtures.model()
    let sequences = try cases().prefix(3).map(\.sequence)
    let c = try cases()[0]
    let prefix = FrozenPrefix(layer: c.layer)
    func lossAndGradient(_ prefix: FrozenPrefix?) throws -> (Float, Float, [Float]) {
      let steering = AdditiveVector(layer: c.layer, alpha: c.alpha, vector: c.vector, positions: c.positions)
      let loss = try model.meanResponseLoss(Array(sequences), intervention: steering, batch: 2, backward: true, prefix: prefix)
      return (loss, steering.gradientAlpha, steering.gradientVector)
    }
    let full = try lossAndGradient(nil)
    for visit in 0..<2 {
      let cached = try lossAndGradient(prefix)
      XCTAssertEqual(cached.0, full.0, accuracy: 1e-5 * full.0, "visit \(visit) loss")
      XCTAssertEqual(cached.1, full.1, accuracy: 1e-4 * max(abs(full.1), 1e-3), "visit \(visit) grad_alpha")
      XCTAssertLessThan(zip(cached.2, full.2).map { $0 - $1 }.norm / full.2.norm, 1e-4, "visit \(visit) grad_v")
    }
    XCTAssertEqual(prefix.count, Set(sequences.map { $0.prompt + $0.response }).count)
    // An edit below the prefix layer would be skipped: refused.
    let below = AdditiveVector(layer: c.layer - 1, alpha: 1, vector: c.vector, positions: .all)
    XCTAssertThrowsError(try model.responseLoss(Array(sequences.prefix(1)), intervention: below, backward: true, prefix: prefix))
  }
}
