import LM
import Tensor
import TestSupport
import XCTest

/// The forward pass against PyTorch fp32 (hidden.jsonl, greedy_fp32.jsonl) and
/// llama.cpp (logits.jsonl, loosely: llama.cpp quantizes activations).
final class LlamaReferenceTests: XCTestCase {
  private let referenceLayers = [0, 7, 15, 23, 29]

  func testHiddenStatesMatchPyTorchWithin1e3Relative() throws {
    let model = try Fixtures.model()
    for line in try Fixtures.jsonLines("smollm2-135m-instruct-q4_1/hidden.jsonl") {
      let ids = line["ids"] as! [Int]
      let recorder = Recorder(layers: Set(referenceLayers))
      let logits = try model.forward(
        [ForwardChunk(tokens: ids, cache: model.makeCache(capacity: ids.count), promptLength: ids.count)],
        intervention: recorder)
      let layers = line["layers"] as! [String: [String: [Double]]]
      for l in referenceLayers {
        var states = recorder.states[l]!
        if l == 29 {
          // The reference's last layer is after the final norm.
          let m = model.finalNorm(Matrix(rows: states.count, cols: states[0].count, storage: states.flatMap { $0 }))
          states = (0..<m.rows).map { m.row($0) }
        }
        let norms = layers["\(l)"]!["norms"]!
        XCTAssertEqual(norms.count, ids.count)
        for (p, expected) in norms.enumerated() {
          XCTAssertEqual(Double(states[p].norm), expected, accuracy: 1e-3 * expected, "layer \(l) position \(p)")
        }
        let last = layers["\(l)"]!["last"]!.map { Float($0) }
        let difference = zip(states[ids.count - 1], last).map { $0 - $1 }
        XCTAssertLessThan(difference.norm / last.norm, 1e-3, "layer \(l) last vector")
      }
      let top = line["top_logits"] as! [[Double]]
      let row = logits.row(0)
      let order = Array(row.indices.sorted { row[$0] > row[$1] }.prefix(top.count))
      XCTAssertEqual(order.prefix(5), top.prefix(5).map { Int($0[0]) }[...], "top-5 order")
      for entry in top {
        let id = Int(entry[0])
        // Logit gaps to the best token, within 1e-2.
        XCTAssertEqual(Double(row[id] - row[Int(top[0][0])]), entry[1] - top[0][1], accuracy: 1e-2, "gap of token \(id)")
      }
    }
  }

  func testGreedyContinuationsMatchPyTorchTokenForToken() throws {
    let model = try Fixtures.model()
    let lines = try Fixtures.jsonLines("smollm2-135m-instruct-q4_1/greedy_fp32.jsonl")
    let prompts = lines.map { $0["ids"] as! [Int] }
    // All twelve prompts in one packed batch, which also exercises batching.
    let generations = try model.generate(prompts: prompts, options: GenerationOptions(maxNewTokens: 48))
    var matches = 0
    for (line, generation) in zip(lines, generations) {
      let expected = (line["greedy"] as! [Int]).filter { $0 != 2 }
      if generation.ids == expected { matches += 1 }
    }
    XCTAssertGreaterThanOrEqual(matches, 11, "\(matches) of 12 greedy continuations match")
  }

  func testTopTokenAgreesWithLlamaCppOnMostPrompts() throws {
    let model = try Fixtures.model()
    let lines = try Fixtures.jsonLines("smollm2-135m-instruct-q4_1/logits.jsonl")
    var agree = 0
    for line in lines {
      let ids = line["ids"] as! [Int]
      let logits = try model.forward([ForwardChunk(tokens: ids, cache: model.makeCache(), promptLength: ids.count)])
      let row = logits.row(0)
      let best = row.indices.max { row[$0] < row[$1] }!
      if best == Int((line["top"] as! [[Double]])[0][0]) { agree += 1 }
    }
    XCTAssertGreaterThanOrEqual(agree, lines.count * 3 / 4, "top-1 agrees on \(agree) of \(lines.count)")
  }
}
