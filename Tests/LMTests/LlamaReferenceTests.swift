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

  /// llama.cpp multiplies Q4_1 weights with activations quantized to 8 bits per 32 values (q8_1),
  /// as `--compute int8` does; the rest of its arithmetic differs (an f16 KV cache, fp16 block
  /// scales), so int8 does not land closer to it. Mean absolute difference of the log-probabilities
  /// of llama.cpp's 20 most likely tokens over the 24 prompts, measured 2026-12-07: fp32 0.0864,
  /// int8 0.0923 (0.0919 with llama.cpp's fp16 scales). Asserted: int8 within 1.2× fp32's distance,
  /// and below 0.12.
  func testInt8StaysAsCloseToLlamaCppAsFP32() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    let lines = try Fixtures.jsonLines("smollm2-135m-instruct-q4_1/logits.jsonl")
    func difference(_ model: DecoderModel) throws -> Double {
      var total = 0.0, count = 0
      for line in lines {
        let ids = line["ids"] as! [Int]
        let row = try model.forward([ForwardChunk(tokens: ids, cache: model.makeCache(), promptLength: ids.count)]).row(0)
        let largest = Double(row.max()!)
        let logSumExp = largest + log(row.reduce(0.0) { $0 + exp(Double($1) - largest) })
        let theirs = line["logsumexp"] as! Double
        for entry in line["top"] as! [[Double]] {
          total += abs((Double(row[Int(entry[0])]) - logSumExp) - (entry[1] - theirs))
          count += 1
        }
      }
      return total / Double(count)
    }
    let fp32 = try difference(try Fixtures.model())
    let int8 = try difference(try DecoderModel(path: Fixtures.modelPath, compute: .int8))
    XCTAssertNotEqual(int8, fp32, "the 8-bit products ran")
    XCTAssertLessThan(int8, fp32 * 1.2, "mean |Δ log p| against llama.cpp: int8 \(int8), fp32 \(fp32)")
    XCTAssertLessThan(int8, 0.12)
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
