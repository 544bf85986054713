import Capture
import Foundation
import LM
import PSR
import Steering
import Store
import TestSupport
import XCTest

/// The PSR paper's S-PSR objective (`mse-through`): one gate, and the relative MSE at its layer and
/// every later layer through the frozen model, plus 0.1·max(0, 1 − Σₜλₜ) per example. Its loss,
/// per-layer parts and gradients against PyTorch autograd on every family fixture in both formats
/// (scripts/make_mse_through_reference.py), and its gradients against central finite differences on
/// a tiny Qwen2 checkpoint (3 layers) through a real capture, with the regulariser off and on.
final class ThroughModelObjectiveTests: TemporaryDirectoryTestCase {
  private func setUp(bias: Float) throws -> (ModelPSRFit, [CapturedExampleTargets], [GateEntry]) {
    let model = try DecoderModel(path: try FamilyFixture.load("qwen2").gguf)
    let layers = Array(0..<model.configuration.layerCount)
    let capture = try ActivationCapture(
      model: model,
      options: CaptureOptions(steeringPrompt: "Answer in capitals.", promptPosition: .suffix, layers: layers, maxNewTokens: 6, seed: 3))
    let path = directory.appendingPathComponent("c.h5").path
    let writer = try ActivationWriter.create(path: path, header: try capture.header(toolVersion: "test"))
    try capture.run(["Name a tree.", "Say hello.", "Count to three."].map { CaptureInput(instruction: $0) }, into: writer)
    try writer.close()
    let reader = try ActivationReader(path: path)
    let fitter = ModelPSRFit(model: model, layers: [0], objective: .mseThrough)
    XCTAssertEqual(fitter.targetLayers, layers, "the gate layer and every later one")
    let examples = try ModelPSRFit.examples(reader, model: model, layers: fitter.targetLayers).filter { !$0.sequence.response.isEmpty }
    var gates = try fitter.initialGates(reader)
    var g = SeededGenerator(seed: 5)
    gates[0].weight = gates[0].weight.map { _ in (g.nextUnit() - 0.5) * 0.2 }
    gates[0].bias = bias
    return (fitter, examples, gates)
  }

  private func checkGradients(bias: Float) throws -> [Int: Float] {
    let (fitter, examples, gates) = try setUp(bias: bias)
    let gate = PSRGate(gates: gates)
    _ = try fitter.batchLoss(examples, gate: gate, backward: true)
    func loss(_ edit: (inout GateEntry) -> Void) throws -> Double {
      var changed = gates
      edit(&changed[0])
      return Double(try fitter.batchLoss(examples, gate: PSRGate(gates: changed), backward: false))
    }
    func check(_ name: String, _ analytic: Float, _ h: Float, _ edit: @escaping (inout GateEntry, Float) -> Void) throws {
      let numeric = (try loss { edit(&$0, h) } - loss { edit(&$0, -h) }) / Double(2 * h)
      XCTAssertEqual(numeric, Double(analytic), accuracy: 0.03 * abs(Double(analytic)) + 1e-4, "\(name) (bias \(bias))")
    }
    try check("b", gate.gradientBias[0], 1e-2) { $0.bias += $1 }
    let w = gate.gradientWeight[0].indices.max { abs(gate.gradientWeight[0][$0]) < abs(gate.gradientWeight[0][$1]) }!
    try check("w[\(w)]", gate.gradientWeight[0][w], 1e-3) { $0.weight[w] += $1 }
    let z = gate.gradientDirection[0].indices.max { abs(gate.gradientDirection[0][$0]) < abs(gate.gradientDirection[0][$1]) }!
    try check("z[\(z)]", gate.gradientDirection[0][z], 1e-2) { $0.direction[z] += $1 }
    return try fitter.lossByLayer(examples, gate: gate)
  }

  func testGradientsMatchFiniteDifferencesWithTheRegulariserOff() throws {
    // A large bias opens the gate on every token: Σλ ≥ 1, the regulariser is 0.
    let parts = try checkGradients(bias: 3)
    XCTAssertEqual(Set(parts.keys), [0, 1, 2, -1], "one relative MSE per layer covered, and the regulariser")
    XCTAssertEqual(parts[-1] ?? -1, 0, accuracy: 1e-9)
  }

  func testGradientsMatchFiniteDifferencesWithTheRegulariserOn() throws {
    // A small bias leaves Σλ below 1 on some example: the regulariser and its gradient act.
    let parts = try checkGradients(bias: 0.01)
    XCTAssertGreaterThan(parts[-1] ?? 0, 0)
  }

  /// Targets of another width (captured from another model) are refused in one line, not read
  /// out of range.
  func testTargetsOfAnotherWidthAreRefused() throws {
    let model = try DecoderModel(path: try FamilyFixture.load("qwen2").gguf)
    let d = model.configuration.modelDimension
    let layers = Array(0..<model.configuration.layerCount)
    let fitter = ModelPSRFit(model: model, layers: [0], objective: .mseThrough)
    let example = CapturedExampleTargets(
      sequence: TeacherForcedSequence(prompt: [1, 5, 6], response: [7, 8]),
      targets: Dictionary(uniqueKeysWithValues: layers.map { ($0, [Float](repeating: 0.5, count: 2 * (d - 1))) }))
    let gate = PSRGate(gates: [GateEntry(layer: 0, weight: [Float](repeating: 0, count: d), bias: 0, direction: [Float](repeating: 0.1, count: d))])
    XCTAssertThrowsError(try fitter.batchLossByLayer([example], gate: gate, backward: true)) { error in
      XCTAssertTrue("\(error)".contains("\(d) values per response token"), "\(error)")
    }
  }

  /// Autograd's loss and gradients, within 1e-4 relative: the vectors by the norm of their
  /// difference over the reference's norm, scalars by |Δ| over max(|reference|, 1e-3 · the loss).
  func testLossAndGradientsMatchPyTorchAutograd() throws {
    let tolerance = 1e-4
    for family in FamilyFixture.families {
      let data = try Data(contentsOf: Fixtures.url("mse-through/\(family).json"))
      let ref = try JSONSerialization.jsonObject(with: data) as! [String: Any]
      let layer = ref["layer"] as! Int
      let weight = (ref["weight"] as! [Double]).map(Float.init)
      let direction = (ref["direction"] as! [Double]).map(Float.init)
      let examples = (ref["examples"] as! [[String: Any]]).map { e in
        CapturedExampleTargets(
          sequence: TeacherForcedSequence(prompt: e["prompt_ids"] as! [Int], response: e["response_ids"] as! [Int]),
          targets: Dictionary(
            uniqueKeysWithValues: (e["targets"] as! [String: [Double]]).map { (Int($0.key)!, $0.value.map(Float.init)) }))
      }
      for (format, model) in try FamilyFixture.load(family).models() {
        // A reference made from another checkpoint fails here, not in a shape check inside the fit.
        let d = model.configuration.modelDimension
        guard weight.count == d, direction.count == d, layer < model.configuration.layerCount,
          examples.allSatisfy({ $0.targets.values.allSatisfy { $0.count % d == 0 } })
        else {
          XCTFail("mse-through/\(family).json was made for another \(family) checkpoint; rerun scripts/make_mse_through_reference.py")
          continue
        }
        var fitter = ModelPSRFit(model: model, layers: [layer], objective: .mseThrough)
        fitter.deadGateWeight = Float(ref["dead_gate_weight"] as! Double)
        XCTAssertEqual(fitter.targetLayers, Array(layer..<model.configuration.layerCount))
        for c in ref["cases"] as! [[String: Any]] {
          let bias = Float(c["bias"] as! Double)
          let what = "\(family) \(format) bias \(bias)"
          let gate = PSRGate(gates: [GateEntry(layer: layer, weight: weight, bias: bias, direction: direction)])
          let (loss, parts) = try fitter.batchLossByLayer(examples, gate: gate, backward: true)
          let expected = c["loss"] as! Double
          func scalar(_ name: String, _ value: Float, _ reference: Double) {
            let error = abs(Double(value) - reference) / max(abs(reference), 1e-3 * expected)
            XCTAssertLessThan(error, tolerance, "\(what) \(name): \(value) against \(reference)")
          }
          func vector(_ name: String, _ value: [Float], _ reference: [Double]) {
            let difference = zip(value, reference).reduce(0.0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) }
            let norm = reference.reduce(0.0) { $0 + $1 * $1 }
            XCTAssertEqual(value.count, reference.count, "\(what) \(name)")
            XCTAssertLessThan((difference / max(norm, 1e-30)).squareRoot(), tolerance, "\(what) \(name)")
          }
          scalar("loss", loss, expected)
          let refParts = c["parts"] as! [String: Double]
          XCTAssertEqual(Set(parts.keys), Set(refParts.keys.map { Int($0)! }), "\(what): one part per layer and the regulariser")
          for (key, value) in refParts { scalar("part \(key)", parts[Int(key)!] ?? .nan, value) }
          vector("∂/∂w", gate.gradientWeight[0], c["grad_weight"] as! [Double])
          vector("∂/∂z", gate.gradientDirection[0], c["grad_direction"] as! [Double])
          scalar("∂/∂b", gate.gradientBias[0], c["grad_bias"] as! Double)
        }
      }
    }
  }
}
