import Foundation
import LM
import Steering
import TestSupport
import XCTest

/// Steering files exported as safetensors and applied by scripts/apply_steering_torch.py to the
/// Hugging Face checkpoints in PyTorch (fixtures from scripts/make_export_fixtures.py).
final class SafetensorsExportTests: TemporaryDirectoryTestCase {
  func testPyTorchHooksGiveTheProjectsSteeredLogits() throws {
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let model = try DecoderModel(path: fixture.huggingFace)
      let file = try SteeringFile.load(Fixtures.url("steering-export/\(family).json").path)
      // The bytes PyTorch read are what the export writes today.
      let exports = try Fixtures.unpackedOnce("steering-export/exports.tar.gz")
      let committed = try Data(contentsOf: URL(fileURLWithPath: exports + "/\(family).safetensors"))
      XCTAssertEqual(Data(try SafetensorsExport.writer(file).bytes()), committed, family)

      let reference =
        try JSONSerialization.jsonObject(
          with: Data(contentsOf: Fixtures.url("steering-export/\(family).logits.json"))) as! [String: Any]
      let prompt = reference["prompt_ids"] as! [Int]
      let tokens = prompt + (reference["response_ids"] as! [Int])
      let expected = (reference["logits"] as! [[Double]]).map { $0.map(Float.init) }
      let intervention = try file.intervention(for: model)
      let logits = try model.forward(
        [ForwardChunk(tokens: tokens, cache: model.makeCache(), promptLength: prompt.count)], logits: .all,
        intervention: intervention)
      var worst: Float = 0
      for (r, row) in expected.enumerated() {
        for (i, e) in row.enumerated() { worst = max(worst, abs(logits.row(r)[i] - e) / max(1, abs(e))) }
      }
      XCTAssertLessThan(worst, 1e-3, "\(family): worst relative logit difference \(worst)")

      // The fixture exercises every rule: each gate is on for some response tokens and off for others.
      let gate = try XCTUnwrap((intervention as? InterventionChain)?.members.compactMap { $0 as? PSRGate }.first)
      XCTAssertGreaterThan(gate.tokensGatedOff, 0, family)
      XCTAssertLessThan(gate.tokensGatedOff, gate.tokensSeen, family)
    }
  }

  func testMetadataSaysHowToApplyEachEntry() throws {
    let file = try SteeringFile.load(Fixtures.url("steering-export/llama.json").path)
    let path = directory.appendingPathComponent("s.safetensors").path
    try SafetensorsExport.writer(file, factor: 2).write(to: path)
    let st = try SafetensorsFile(path: path)
    XCTAssertEqual(st.metadata["format"], SafetensorsExport.format)
    XCTAssertEqual(st.metadata["model_sha256"], file.model.sha256)
    XCTAssertEqual(st.metadata["apply"], SafetensorsExport.rule)
    let entries = try JSONSerialization.jsonObject(with: Data(st.metadata["entries"]!.utf8)) as! [[String: Any]]
    XCTAssertEqual(entries.map { $0["type"] as! String }, ["vector", "vector", "gate", "gate"])
    XCTAssertEqual(entries.map { $0["positions"] as! String }, ["p2+s2", "all", "response", "response"])
    XCTAssertEqual(entries.map { $0["layer"] as! Int }, file.vectors.map(\.layer) + file.gates.map(\.layer))
    XCTAssertEqual(try st.floats("vectors.0.v"), file.vectors[0].vector)
    XCTAssertEqual(try st.floats("vectors.0.alpha", shape: []), [file.vectors[0].alpha * file.alpha * 2])
    XCTAssertEqual(try st.floats("gates.1.w"), file.gates[1].weight)
    XCTAssertEqual(try st.floats("gates.1.b", shape: []), [file.gates[1].bias])
    XCTAssertEqual(try st.floats("gates.1.z"), file.gates[1].direction)
    XCTAssertEqual(try st.floats("gates.1.alpha", shape: []), [file.alpha * 2])
  }
}
