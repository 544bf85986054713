import Capture
import Foundation
import LM
import PSR
import Steering
import Store
import TestSupport
import XCTest

/// The PSR paper's S-PSR objective (`mse-through`): one gate, and the relative MSE at its layer and
/// every later layer through the frozen model, plus 0.1·max(0, 1 − Σₜλₜ) per example. Its gradients
/// against central finite differences on a tiny Qwen2 checkpoint (3 layers), with the regulariser
/// off and on.
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
}
