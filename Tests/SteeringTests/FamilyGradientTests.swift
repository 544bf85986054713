import LM
import Steering
import TestSupport
import XCTest

/// Gradients of an additive vector's response loss through each family's backward pass (GQA,
/// biases, q/k norms, sandwich norms, GELU-tanh, soft-caps, sliding windows), against PyTorch
/// autograd on the same weights, for both checkpoint formats.
final class FamilyGradientTests: XCTestCase {
  private struct Case {
    var sequence: TeacherForcedSequence
    var layer: Int
    var alpha: Float
    var vector: [Float]
    var loss: Float
    var gradAlpha: Float
    var gradVector: [Float]

    init(_ g: [String: Any]) {
      sequence = TeacherForcedSequence(prompt: g["prompt_ids"] as! [Int], response: g["response_ids"] as! [Int])
      layer = g["layer"] as! Int
      alpha = Float(g["alpha"] as! Double)
      vector = (g["v"] as! [Double]).map(Float.init)
      loss = Float(g["loss"] as! Double)
      gradAlpha = Float(g["grad_alpha"] as! Double)
      gradVector = (g["grad_v"] as! [Double]).map(Float.init)
    }
  }

  func testLossAndGradientsMatchPyTorch() throws {
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let c = Case(fixture.reference["gradient"] as! [String: Any])
      // Native weights run the backward products block by block (the transposed expansion).
      let saved = WeightPrecision.expansionFloats
      WeightPrecision.expansionFloats = 1000
      defer { WeightPrecision.expansionFloats = saved }
      let native = ("gguf native", try DecoderModel(path: fixture.gguf, weights: .native))
      for (format, model) in try fixture.models() + [native] {
        let steering = AdditiveVector(layer: c.layer, alpha: c.alpha, vector: c.vector, positions: .all)
        let loss = try model.responseLoss([c.sequence], intervention: steering, backward: true)
        XCTAssertEqual(loss, c.loss, accuracy: 1e-3 * c.loss, "\(family) \(format) loss")
        let g = steering.gradientVector
        let error = zip(g, c.gradVector).map { $0 - $1 }.norm / c.gradVector.norm
        XCTAssertLessThan(error, 1e-2, "\(family) \(format) grad_v relative error")
        XCTAssertTrue(
          abs(steering.gradientAlpha - c.gradAlpha) <= max(1e-2 * abs(c.gradAlpha), 1e-5),
          "\(family) \(format) grad_alpha \(steering.gradientAlpha) vs \(c.gradAlpha)")
      }
    }
  }

  func testGradientAgreesWithFiniteDifferences() throws {
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let c = Case(fixture.reference["gradient"] as! [String: Any])
      let model = try DecoderModel(path: fixture.gguf)
      let steering = AdditiveVector(layer: c.layer, alpha: c.alpha, vector: c.vector, positions: .response)
      _ = try model.responseLoss([c.sequence], intervention: steering, backward: true)
      let direction = steering.gradientVector.map { $0 / steering.gradientVector.norm }
      func numeric(_ epsilon: Float) throws -> Float {
        func loss(_ sign: Float) throws -> Float {
          let v = zip(c.vector, direction).map { $0 + sign * epsilon * $1 }
          return try model.responseLoss(
            [c.sequence], intervention: AdditiveVector(layer: c.layer, alpha: c.alpha, vector: v, positions: .response))
        }
        return (try loss(1) - loss(-1)) / (2 * epsilon)
      }
      let analytic = zip(steering.gradientVector, direction).reduce(0) { $0 + $1.0 * $1.1 }
      // A mixture's routing is piecewise constant: a step that crosses a routing boundary measures
      // the jump, not the slope. Between boundaries the loss is smooth, so one of three shrinking
      // steps must agree; dense families use the first.
      let steps: [Float] = FamilyFixture.mixtures.contains(family) ? [1e-2, 3e-3, 1e-3] : [1e-2]
      let estimates = try steps.map(numeric)
      XCTAssertTrue(
        estimates.contains { abs($0 - analytic) <= 0.03 * abs(analytic) },
        "\(family) directional derivative \(analytic), central differences \(estimates)")
    }
  }
}
