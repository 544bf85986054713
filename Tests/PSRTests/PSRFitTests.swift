import Capture
import Foundation
import LM
import PSR
import Steering
import Store
import TestSupport
import XCTest

/// PSR fitted on a real (small) persona capture of the default model.
final class PSRFitTests: XCTestCase {
  nonisolated(unsafe) static var capturePath: String?

  /// The shared capture lives for the class's tests; nothing is left in the temporary directory.
  override class func tearDown() {
    if let capturePath { try? FileManager.default.removeItem(atPath: capturePath) }
    capturePath = nil
    super.tearDown()
  }

  /// Captures 12 "evil" persona questions × 2 samples at layers 8 and 15, once per run.
  private func capture() throws -> ActivationReader {
    if let path = Self.capturePath { return try ActivationReader(path: path) }
    let model = try Fixtures.model()
    let traitFile = Fixtures.packageRoot.appendingPathComponent("experiments/data/persona/evil_extract.json").path
    let prompt = try InputFile.readPrompt(traitFile)
    let inputs = Array(try InputFile.read(traitFile, strict: true).inputs.prefix(12))
    let capture = try ActivationCapture(
      model: model,
      options: CaptureOptions(steeringPrompt: prompt, promptPosition: .prefix, layers: [8, 15], samples: 2, maxNewTokens: 40, seed: 1))
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("psr-fit-\(getpid()).h5").path
    let writer = try ActivationWriter.create(path: path, header: try capture.header(toolVersion: "test"))
    try capture.run(inputs, into: writer)
    try writer.close()
    Self.capturePath = path
    return try ActivationReader(path: path)
  }

  func testSinglePSRBeatsConstMSEWhichBeatsDiffMeanOnHeldOutTokens() throws {
    let data = try CapturedLayer(reader: try capture(), layer: 15, validationFraction: 0.25, seed: 0)
    XCTAssertFalse(data.validationRows.isEmpty)
    let (_, summary) = SinglePSRFit(data: data, options: PSRFitOptions()).fit()
    let v = summary.validationRelativeMSE
    print("validation relative MSE: \(v), gate zero fraction \(summary.gateZeroFraction)")
    XCTAssertLessThan(v.psr, v.constMSE)
    XCTAssertLessThanOrEqual(v.constMSE, v.diffMean + 1e-9)
    XCTAssertLessThan(summary.trainRelativeMSE.psr, summary.trainRelativeMSE.constMSE)
  }

  func testInitialGateReproducesConstMSE() throws {
    let data = try CapturedLayer(reader: try capture(), layer: 8, validationFraction: 0.25, seed: 0)
    let fit = SinglePSRFit(data: data, options: PSRFitOptions())
    let summary = fit.summary(fit.initialGate(), epochs: 0)
    XCTAssertEqual(summary.trainRelativeMSE.psr, summary.trainRelativeMSE.constMSE, accuracy: 1e-4)
  }

  func testGateIsExactlyZeroWherePreActivationIsNegative() {
    let d = 4
    let gate = GateEntry(layer: 0, weight: [1, 0, 0, 0], bias: -0.5, direction: [0, 1, 0, 0])
    let psr = PSRGate(gates: [gate], alpha: 2)
    var states: [Float] = [0.2, 1, 1, 1, /* a = -0.3 */ 1.5, 1, 1, 1 /* a = 1.0 */]
    let original = states
    let slots = [
      TokenSlot(sequence: 0, position: 5, role: .response(index: 0)), TokenSlot(sequence: 0, position: 6, role: .response(index: 1)),
    ]
    states.withUnsafeMutableBufferPointer { p in
      psr.edit(layer: 0, hidden: HiddenStates(pointer: p.baseAddress!, rows: 2, width: d, slots: slots))
    }
    XCTAssertEqual(Array(states[0..<4]), Array(original[0..<4]), "gate off: untouched")
    XCTAssertEqual(states[5], 1 + 2 * 1.0, "gate on: + α·λ·z")
    XCTAssertEqual(psr.tokensGatedOff, 1)
    XCTAssertEqual(PSRGate.coefficient(gate, [0.2, 9, 9, 9]), 0)
  }

  func testMultiLayerFitLowersItsLossAndGradientsMatchFiniteDifferences() throws {
    let model = try Fixtures.model()
    let reader = try capture()
    var fitter = ModelPSRFit(model: model, layers: [8, 15], objective: .mse)
    let examples = Array(try ModelPSRFit.examples(reader, model: model, layers: [8, 15]).prefix(6))
    var gates = try fitter.initialGates(reader)
    // Give w a small non-zero value so that every parameter's gradient is exercised.
    var g = SeededGenerator(seed: 2)
    for i in gates.indices { gates[i].weight = gates[i].weight.map { _ in (g.nextUnit() - 0.5) * 1e-3 } }

    let gate = PSRGate(gates: gates)
    let batch = Array(examples.prefix(2))
    _ = try fitter.batchLoss(batch, gate: gate, backward: true)
    func loss(_ edit: (inout [GateEntry]) -> Void) throws -> Float {
      var changed = gates
      edit(&changed)
      return try fitter.batchLoss(batch, gate: PSRGate(gates: changed), backward: false)
    }
    // Bias of the first gate and one direction component of the second, by central differences.
    let hb: Float = 0.05
    let numericBias = (try loss { $0[0].bias += hb } - loss { $0[0].bias -= hb }) / (2 * hb)
    XCTAssertEqual(numericBias, gate.gradientBias[0], accuracy: 0.05 * abs(gate.gradientBias[0]) + 1e-5)
    let i = gate.gradientDirection[1].indices.max { abs(gate.gradientDirection[1][$0]) < abs(gate.gradientDirection[1][$1]) }!
    let hz: Float = 0.01
    let numericZ = (try loss { $0[1].direction[i] += hz } - loss { $0[1].direction[i] -= hz }) / (2 * hz)
    XCTAssertEqual(numericZ, gate.gradientDirection[1][i], accuracy: 0.05 * abs(gate.gradientDirection[1][i]) + 1e-5)

    fitter.epochs = 2
    fitter.batchExamples = 3
    let before = try fitter.loss(examples, gate: PSRGate(gates: gates))
    let fitted = try fitter.fit(examples, from: gates)
    let after = try fitter.loss(examples, gate: PSRGate(gates: fitted))
    XCTAssertLessThan(after, before, "multi-layer loss \(before) → \(after)")
  }

  func testPSRFileRoundTripsAndRefusesAnotherModel() throws {
    let model = try Fixtures.model()
    let d = model.configuration.modelDimension
    var f = try SteeringFile(kind: .psr, for: model)
    f.gates = [GateEntry(layer: 15, weight: [Float](repeating: 0.01, count: d), bias: 2, direction: [Float](repeating: 0.5, count: d))]
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("g-\(getpid()).psr").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try f.save(path)
    let loaded = try SteeringFile.load(path)
    XCTAssertEqual(loaded, f)
    XCTAssertTrue(try loaded.intervention(for: model) is PSRGate)
    var other = loaded
    other.model.layerCount = 24
    XCTAssertThrowsError(try other.intervention(for: model)) { XCTAssertTrue($0 is FingerprintMismatch) }
  }

  func testCapturedSequencesAreTheUnpromptedPromptsAndTheCapturedResponses() throws {
    let reader = try capture()
    let model = try Fixtures.model()
    let all = try reader.teacherForcedSequences(model: model)
    XCTAssertEqual(all.count, reader.exampleCount)
    let instructions = try reader.instructions()
    let tokens = try reader.tokens().map(Int.init)
    for e in [0, 5, reader.exampleCount - 1] {
      XCTAssertEqual(all[e].prompt, model.chatPrompt(user: instructions[e]))
      XCTAssertEqual(all[e].response, Array(tokens[reader.tokenOffsets[e]..<reader.tokenOffsets[e + 1]]))
    }
    XCTAssertEqual(try reader.teacherForcedSequences(model: model, examples: 3..<7), Array(all[3..<7]))
  }
}
