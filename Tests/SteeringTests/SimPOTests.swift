import Foundation
import LM
import Steering
import TestSupport
import XCTest

/// The SimPO objective of steering-vector training: loss and gradients against PyTorch autograd on
/// every family fixture in both formats (scripts/make_simpo_reference.py), a directional derivative
/// against central finite differences, and a PrOSV vector trained with it on the default model
/// lowering the preference loss of pairs it never saw.
final class SimPOTests: XCTestCase {
  func testLossAndGradientsMatchPyTorchAutograd() throws {
    let tolerance = 1e-4
    for family in FamilyFixture.families {
      let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("simpo/\(family).json"))) as! [String: Any]
      let layer = ref["layer"] as! Int
      let alpha = Float(ref["alpha"] as! Double)
      let vector = (ref["v"] as! [Double]).map(Float.init)
      let pairs = (ref["pairs"] as! [[String: [Int]]]).map { PreferencePair(prompt: $0["prompt"]!, chosen: $0["chosen"]!, rejected: $0["rejected"]!) }
      for (format, model) in try FamilyFixture.load(family).models() {
        // A reference made from another checkpoint (a fixture regenerated without rerunning
        // make_simpo_reference.py) fails here, not in a shape check inside the model.
        guard vector.count == model.configuration.modelDimension, layer < model.configuration.layerCount else {
          XCTFail("simpo/\(family).json was made for another \(family) checkpoint; rerun scripts/make_simpo_reference.py")
          continue
        }
        for c in ref["cases"] as! [[String: Any]] {
          let positions: PositionSet = c["positions"] as! String == "all" ? .all : .prompt(prefix: 2, suffix: 2)
          let parameters = SimPOParameters(
            beta: Float(c["beta"] as! Double), gamma: Float(c["gamma"] as! Double), scaler: (c["scaler"] as? Double).map(Float.init))
          let what = "\(family) \(format) \(positions) scaler \(String(describing: parameters.scaler))"
          let steering = AdditiveVector(layer: layer, alpha: alpha, vector: vector, positions: positions)
          let loss = try model.simpoLoss(
            pairs, intervention: steering, parameters: parameters, scales: try model.simpoScales(pairs, parameters: parameters), backward: true)
          let expected = c["loss"] as! Double
          XCTAssertLessThan(abs(Double(loss) - expected) / abs(expected), tolerance, "\(what) loss \(loss) against \(expected)")
          let gradAlpha = c["grad_alpha"] as! Double
          XCTAssertLessThan(
            abs(Double(steering.gradientAlpha) - gradAlpha) / max(abs(gradAlpha), 1e-3 * expected), tolerance,
            "\(what) ∂/∂α \(steering.gradientAlpha) against \(gradAlpha)")
          let gradV = c["grad_v"] as! [Double]
          let difference = zip(steering.gradientVector, gradV).reduce(0.0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) }
          XCTAssertLessThan((difference / gradV.reduce(0) { $0 + $1 * $1 }).squareRoot(), tolerance, "\(what) ∂/∂v")
        }
      }
    }
  }

  func testDirectionalDerivativeAgreesWithFiniteDifferences() throws {
    let model = try DecoderModel(path: try FamilyFixture.load("qwen3").gguf)
    let pairs = [
      PreferencePair(prompt: [5, 9, 14, 40, 41], chosen: [60, 61, 62, 70], rejected: [80, 81]),
      PreferencePair(prompt: [7, 8, 100, 101], chosen: [30, 31], rejected: [90, 91, 92, 93, 94]),
    ]
    let d = model.configuration.modelDimension
    var g = SeededGenerator(seed: 4)
    let vector = (0..<d).map { _ in g.nextUnit() - 0.5 }
    for parameters in [SimPOParameters(beta: 2, gamma: 0.5), SimPOParameters(beta: 1, gamma: 0, scaler: 1)] {
      let scales = try model.simpoScales(pairs, parameters: parameters)
      let steering = AdditiveVector(layer: 1, alpha: 1.2, vector: vector, positions: .all)
      _ = try model.simpoLoss(pairs, intervention: steering, parameters: parameters, scales: scales, backward: true)
      let norm = steering.gradientVector.reduce(0) { $0 + $1 * $1 }.squareRoot()
      let direction = steering.gradientVector.map { $0 / norm }
      func loss(_ h: Float) throws -> Double {
        let v = zip(vector, direction).map { $0 + h * $1 }
        return Double(
          try model.simpoLoss(
            pairs, intervention: AdditiveVector(layer: 1, alpha: 1.2, vector: v, positions: .all), parameters: parameters, scales: scales))
      }
      let h: Float = 1e-2
      let numeric = (try loss(h) - loss(-h)) / Double(2 * h)
      XCTAssertEqual(numeric, Double(norm), accuracy: 0.02 * Double(norm), "β \(parameters.beta), scaler \(String(describing: parameters.scaler))")
      let alphaNumeric = (try Double(model.simpoLoss(pairs, intervention: AdditiveVector(layer: 1, alpha: 1.2 + h, vector: vector), parameters: parameters, scales: scales))
        - Double(model.simpoLoss(pairs, intervention: AdditiveVector(layer: 1, alpha: 1.2 - h, vector: vector), parameters: parameters, scales: scales))) / Double(2 * h)
      XCTAssertEqual(alphaNumeric, Double(steering.gradientAlpha), accuracy: 0.02 * abs(Double(steering.gradientAlpha)) + 1e-5)
    }
  }

  /// Chosen: AxBench's concept responses; rejected: the model's own greedy answers to the same
  /// instructions. Trained on 8 pairs, the PrOSV vector's loss on 4 others falls below both the
  /// unsteered model's and its initial vector's.
  func testPrOSVTrainedWithSimPOLowersHeldOutPreferenceLoss() throws {
    let model = try Fixtures.model()
    let examples = try TrainingExample.load(jsonLines: Fixtures.packageRoot.appendingPathComponent(
      "experiments/data/axbench/concept10_2b_l20_train.jsonl").path, conceptID: 0)
    XCTAssertGreaterThanOrEqual(examples.count, 12)
    let sequences = examples.prefix(12).map { $0.tokenized(for: model, maxResponseTokens: 24) }
    let rejected = try model.generate(
      prompts: sequences.map(\.prompt), options: GenerationOptions(maxNewTokens: 24, sampling: SamplingParameters(temperature: 0, seed: 0)))
    let pairs = zip(sequences, rejected).map { PreferencePair(prompt: $0.prompt, chosen: $0.response, rejected: $1.ids) }
    XCTAssertTrue(pairs.allSatisfy { !$0.rejected.isEmpty && $0.chosen != $0.rejected })
    var o = SteeringVectorTrainingOptions.defaults(kind: .prosv, layer: 15)
    o.objective = .simpo
    o.epochs = 3
    o.batchSize = 4
    let trainer = try SteeringVectorTrainer(model: model, options: o)
    let heldOut = Array(pairs.suffix(4))
    let unsteered = try trainer.preferenceLoss(heldOut, steering: nil)
    let initial = try trainer.preferenceLoss(heldOut, steering: trainer.initialVector())
    let trained = try trainer.train(pairs: Array(pairs.prefix(8)))
    let after = try trainer.preferenceLoss(heldOut, steering: trained)
    XCTAssertLessThan(after, unsteered, "held-out SimPO loss: unsteered \(unsteered), initial \(initial), trained \(after)")
    XCTAssertLessThan(after, initial, "held-out SimPO loss: unsteered \(unsteered), initial \(initial), trained \(after)")
    XCTAssertThrowsError(try trainer.train(pairs.map(\.chosenSequence)), "an lm-objective call on a simpo trainer is refused")
  }

  /// A line's `rejected` is read when it is a string and refused, naming the line, when it is not.
  func testRejectedFieldIsReadOrRefusedByLine() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("simpo-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = dir.appendingPathComponent("good.jsonl").path
    try #"{"instruction": "Hi", "output": "Rent a tent.", "rejected": "Hello!"}"#.write(toFile: good, atomically: true, encoding: .utf8)
    XCTAssertEqual(try TrainingExample.load(jsonLines: good).map(\.rejected), ["Hello!"])
    let bad = dir.appendingPathComponent("bad.jsonl").path
    try "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"Hi\", \"output\": \"x\", \"rejected\": 5}".write(
      toFile: bad, atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try TrainingExample.load(jsonLines: bad)) {
      XCTAssertEqual($0 as? DataError, .malformedLine(path: bad, line: 2, reason: "rejected must be a string"))
    }
  }
}
