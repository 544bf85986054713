import Foundation
import LM
import Tensor
import TestSupport
import XCTest

/// Gemma 3 and Phi-3 beyond what every family's reference tests check: each form their
/// configurations take on the hub, LongRoPE within the original context, and one-line errors for
/// what the reader refuses.
final class NewFamilyCheckpointTests: CheckpointTestCase {
  private func logits(_ model: DecoderModel, _ ids: [Int]) throws -> Matrix {
    try model.forward(
      [ForwardChunk(tokens: ids, cache: model.makeCache(capacity: ids.count), promptLength: ids.count)], logits: .all)
  }

  private func assertSame(_ a: Matrix, _ b: Matrix, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.storage.count, b.storage.count, what, file: file, line: line)
    let error = zip(a.storage, b.storage).map { $0 - $1 }.norm / b.storage.norm
    XCTAssertLessThan(error, 1e-6, what, file: file, line: line)
  }

  func testGemma3ReadsTheHubAndTransformers5ConfigurationsAlike() throws {
    let fixture = try FamilyFixture.load("gemma3")
    let hub = try DecoderModel(path: fixture.huggingFace)
    let c = hub.configuration
    XCTAssertEqual(c.family, .gemma3)
    // sliding_window_pattern 6: every sixth layer global (the fixture's 7 layers: five sliding,
    // one global, one sliding), whatever the layer count of the checkpoint.
    XCTAssertEqual(c.slidingLayers, (0..<c.layerCount).map { ($0 + 1) % 6 != 0 })
    XCTAssertEqual(c.localRopeBase, 10_000)
    XCTAssertEqual(c.ropeScaling?.kind, .linear)
    XCTAssertEqual(c.ropeScaling?.factor, 4)
    XCTAssertNil(c.attentionSoftcap)
    let v5 = try copyOfCheckpoint(fixture.huggingFace, named: "v5")
    try FileManager.default.removeItem(atPath: v5 + "/config.json")
    try FileManager.default.copyItem(
      atPath: URL(fileURLWithPath: fixture.huggingFace).deletingLastPathComponent().path + "/config.transformers5.json",
      toPath: v5 + "/config.json")
    var expected = c
    let other = try DecoderModel(path: v5)
    expected.name = other.configuration.name
    XCTAssertEqual(other.configuration, expected)
    let ids = fixture.reference["ids"] as! [Int]
    assertSame(try logits(other, ids), try logits(hub, ids), "transformers 5 configuration")
  }

  func testGemma3MultimodalCheckpointRunsItsTextModel() throws {
    let fixture = try FamilyFixture.load("gemma3")
    let multimodal = URL(fileURLWithPath: fixture.huggingFace).deletingLastPathComponent().path + "/hf-multimodal"
    let model = try DecoderModel(path: multimodal)
    XCTAssertEqual(model.configuration.architecture, "Gemma3ForConditionalGeneration")
    let ids = fixture.reference["ids"] as! [Int]
    assertSame(try logits(model, ids), try logits(try DecoderModel(path: fixture.huggingFace), ids), "text model of the multimodal checkpoint")
  }

  func testSlidingLayersKeepOnlyTheirWindowInTheCache() throws {
    // Gemma 3's fixture: window 5, layer 5 global. After 40 tokens (prefill 9, then one at a
    // time), a sliding layer's keys and values take 5 positions, the global layer's at least 40.
    let fixture = try FamilyFixture.load("gemma3")
    let model = try DecoderModel(path: fixture.gguf)
    let c = model.configuration
    let cache = model.makeCache(capacity: 4)
    let ids = (0..<40).map { 3 + ($0 * 37) % (c.vocabularySize - 3) }
    try model.forward([ForwardChunk(tokens: Array(ids.prefix(9)), cache: cache, promptLength: 9)], logits: .none)
    for token in ids.dropFirst(9) {
      try model.forward([ForwardChunk(tokens: [token], cache: cache, promptLength: 9)], logits: .none)
    }
    for l in 0..<c.layerCount {
      if let window = c.window(layer: l) {
        XCTAssertEqual(window, 5)
        XCTAssertEqual(cache.capacities[l], window, "layer \(l) holds its window only")
      } else {
        XCTAssertGreaterThanOrEqual(cache.capacities[l], 40, "global layer \(l) holds every position")
      }
    }
    let floatsPerPosition = 2 * c.keyValueDimension * MemoryLayout<Float>.stride
    XCTAssertEqual(cache.byteCount, cache.capacities.reduce(0, +) * floatsPerPosition)
    XCTAssertLessThanOrEqual(cache.byteCount, (6 * 5 + 64) * floatsPerPosition)
    // The last step's logits equal one pass over all 40 tokens.
    let step = try model.forward([ForwardChunk(tokens: [5], cache: cache, promptLength: 9)], logits: .last)
    let whole = try model.forward(
      [ForwardChunk(tokens: ids + [5], cache: model.makeCache(capacity: 41), promptLength: 9)], logits: .last)
    XCTAssertLessThan(zip(step.row(0), whole.row(0)).map { $0 - $1 }.norm / whole.row(0).norm, 1e-4)
    // A ring cannot go back further than one position.
    XCTAssertThrowsError(try cache.truncate(to: 30))
    XCTAssertNoThrow(try cache.truncate(to: cache.count - 1))
  }

  func testPhi3WithinTheOriginalContextUsesTheShortFactors() throws {
    // 12 tokens, within the original 16: transformers rotates with the short factors.
    let fixture = try FamilyFixture.load("phi3")
    let short = fixture.reference["short"] as! [String: Any]
    let ids = short["ids"] as! [Int]
    let hidden = short["hidden"] as! [String: [[Double]]]
    let topIds = short["top_ids"] as! [[Int]]
    let topLogits = short["top_logits"] as! [[Double]]
    for (format, model) in try fixture.models() {
      XCTAssertEqual(model.configuration.ropeScaling?.kind, .longrope, format)
      XCTAssertEqual(model.configuration.ropeScaling?.originalContextLength, 16, format)
      XCTAssertEqual(model.configuration.ropeScaling?.attentionFactor ?? 0, (1 + log(8.0) / log(16.0)).squareRoot(), accuracy: 1e-6)
      let recorder = Recorder(layers: [0])
      let out = try model.forward(
        [ForwardChunk(tokens: ids, cache: model.makeCache(capacity: ids.count), promptLength: ids.count)], logits: .all,
        intervention: recorder)
      let states = recorder.states[0]!.flatMap { $0 }
      let expected = hidden["0"]!.flatMap { $0 }.map(Float.init)
      XCTAssertLessThan(zip(states, expected).map { $0 - $1 }.norm / expected.norm, 1e-3, "\(format) layer 0")
      for p in 0..<ids.count {
        let row = out.row(p)
        XCTAssertEqual(row.indices.max { row[$0] < row[$1] }!, topIds[p][0], "\(format) position \(p)")
        XCTAssertEqual(
          Double(row[topIds[p][1]] - row[topIds[p][0]]), topLogits[p][1] - topLogits[p][0], accuracy: 1e-2, "\(format) position \(p)")
      }
    }
  }

  func testMalformedGemma3AndPhi3ConfigurationsAreRefusedInOneLine() throws {
    let gemma = try FamilyFixture.load("gemma3").huggingFace
    let cases: [(String, (inout [String: Any]) -> Void, [String])] = [
      ("g1", { $0["attn_logit_softcapping"] = 50.0 }, ["attn_logit_softcapping", "config.json"]),
      ("g2", { $0["layer_types"] = ["sliding_attention", "full_attention"] }, ["layer_types", "2 layers"]),
      ("g3", { $0["use_bidirectional_attention"] = true }, ["use_bidirectional_attention"]),
      ("g4", { $0["hidden_activation"] = "relu" }, ["relu", "gelu_pytorch_tanh"]),
      ("g5", { $0["sliding_window_pattern"] = 0 }, ["sliding_window_pattern"]),
    ]
    for (name, edit, parts) in cases {
      let dir = try copyOfCheckpoint(gemma, named: name)
      try editConfig(dir, edit)
      assertLoadFails(dir, mentioning: parts)
    }
    let phi = try FamilyFixture.load("phi3").huggingFace
    let factors = try DecoderModel(path: phi).configuration.headDimension / 2
    let phiCases: [(String, (inout [String: Any]) -> Void, [String])] = [
      ("p1", { $0["partial_rotary_factor"] = 0.75 }, ["partial_rotary_factor"]),
      ("p2", { var r = $0["rope_scaling"] as! [String: Any]; r.removeValue(forKey: "long_factor"); $0["rope_scaling"] = r }, ["long_factor"]),
      ("p3", { var r = $0["rope_scaling"] as! [String: Any]; r["short_factor"] = [1.0, 2.0]; $0["rope_scaling"] = r }, ["short factors", "\(factors)"]),
      ("p4", { $0.removeValue(forKey: "original_max_position_embeddings") }, ["original_max_position_embeddings"]),
      ("p5", { $0["sliding_window"] = 0 }, ["sliding_window"]),
    ]
    for (name, edit, parts) in phiCases {
      let dir = try copyOfCheckpoint(phi, named: name)
      try editConfig(dir, edit)
      assertLoadFails(dir, mentioning: parts)
    }
  }
}
