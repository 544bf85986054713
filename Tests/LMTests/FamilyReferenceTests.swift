import LM
import Tensor
import TestSupport
import XCTest

/// Every family, from its Hugging Face directory and from llama.cpp's GGUF conversion, against
/// transformers' fp32 outputs on the same weights (Tests/Fixtures/families).
final class FamilyReferenceTests: XCTestCase {
  func testHiddenStatesMatchTransformersWithin1e3Relative() throws {
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let ids = fixture.reference["ids"] as! [Int]
      let hidden = fixture.reference["hidden"] as! [String: [[Double]]]
      for (format, model) in try fixture.models() {
        let layers = model.configuration.layerCount
        let recorder = Recorder(layers: Set(0..<layers))
        try model.forward(
          [ForwardChunk(tokens: ids, cache: model.makeCache(capacity: ids.count), promptLength: ids.count)], logits: .none,
          intervention: recorder)
        for l in 0..<layers {
          var states = recorder.states[l]!.flatMap { $0 }
          if l == layers - 1 {
            // transformers reports the last layer after the final norm.
            states = model.finalNorm(Matrix(rows: ids.count, cols: states.count / ids.count, storage: states)).storage
          }
          let expected = hidden["\(l)"]!.flatMap { $0 }.map(Float.init)
          XCTAssertEqual(states.count, expected.count, "\(family) \(format) layer \(l) size")
          let error = zip(states, expected).map { $0 - $1 }.norm / expected.norm
          XCTAssertLessThan(error, 1e-3, "\(family) \(format) layer \(l) relative error")
        }
      }
    }
  }

  func testTopTenLogitGapsWithin1e2() throws {
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let ids = fixture.reference["ids"] as! [Int]
      let topIds = fixture.reference["top_ids"] as! [[Int]]
      let topLogits = fixture.reference["top_logits"] as! [[Double]]
      for (format, model) in try fixture.models() {
        let logits = try model.forward(
          [ForwardChunk(tokens: ids, cache: model.makeCache(capacity: ids.count), promptLength: ids.count)], logits: .all)
        for p in 0..<ids.count {
          let row = logits.row(p)
          let best = row.indices.max { row[$0] < row[$1] }!
          XCTAssertEqual(best, topIds[p][0], "\(family) \(format) position \(p) top token")
          for (id, value) in zip(topIds[p], topLogits[p]) {
            XCTAssertEqual(
              Double(row[id] - row[topIds[p][0]]), value - topLogits[p][0], accuracy: 1e-2,
              "\(family) \(format) position \(p) gap of token \(id)")
          }
        }
      }
    }
  }

  func testGreedyContinuationsMatchTokenForToken() throws {
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let prompt = fixture.reference["greedy_prompt"] as! [Int]
      for (format, model) in try fixture.models() {
        let expected = Array((fixture.reference["greedy"] as! [Int]).prefix { $0 != model.tokenizer.endOfSequence })
        let generated = try model.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: expected.count))
        XCTAssertEqual(generated[0].ids, expected, "\(family) \(format) greedy continuation")
      }
    }
  }

  func testDecodingWithTheCacheEqualsOnePass() throws {
    // Sliding windows, soft-caps and biases in the decode kernel agree with the prefill path.
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let ids = fixture.reference["ids"] as! [Int]
      let model = try DecoderModel(path: fixture.gguf)
      let whole = try model.forward(
        [ForwardChunk(tokens: ids, cache: model.makeCache(capacity: ids.count), promptLength: ids.count)], logits: .all)
      let cache = model.makeCache(capacity: ids.count)
      try model.forward([ForwardChunk(tokens: Array(ids.prefix(4)), cache: cache, promptLength: 4)], logits: .none)
      for p in 4..<ids.count {
        let step = try model.forward([ForwardChunk(tokens: [ids[p]], cache: cache, promptLength: 4)], logits: .last)
        let difference = zip(step.row(0), whole.row(p)).map { $0 - $1 }.norm
        XCTAssertLessThan(difference / whole.row(p).norm, 1e-4, "\(family) position \(p)")
      }
    }
  }
}

/// Weights held at the file's precision (expanded per product) give the fp32 copy's results.
final class WeightPrecisionTests: XCTestCase {
  func testNativeWeightsMatchFP32() throws {
    // Blocks of 1000 floats: every matrix is expanded in several blocks, a part boundary included.
    let saved = WeightPrecision.expansionFloats
    WeightPrecision.expansionFloats = 1000
    defer { WeightPrecision.expansionFloats = saved }
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let ids = fixture.reference["ids"] as! [Int]
      for path in [fixture.gguf, fixture.huggingFace] {
        let fp32 = try DecoderModel(path: path, weights: .fp32)
        let native = try DecoderModel(path: path, weights: .native)
        XCTAssertEqual(native.weightPrecision, .native)
        let a = try fp32.forward([ForwardChunk(tokens: ids, cache: fp32.makeCache(), promptLength: ids.count)], logits: .all)
        let b = try native.forward([ForwardChunk(tokens: ids, cache: native.makeCache(), promptLength: ids.count)], logits: .all)
        XCTAssertLessThan(zip(a.storage, b.storage).map { $0 - $1 }.norm / a.storage.norm, 1e-5, "\(family) \(path) logits")
        let greedyA = try fp32.generate(prompts: [Array(ids.prefix(6))], options: GenerationOptions(maxNewTokens: 6))
        let greedyB = try native.generate(prompts: [Array(ids.prefix(6))], options: GenerationOptions(maxNewTokens: 6))
        XCTAssertEqual(greedyA[0].ids, greedyB[0].ids, "\(family) greedy")
      }
    }
  }

  func testDefaultModelStaysFP32AndQuantizedFilesRunNative() throws {
    XCTAssertEqual(try Fixtures.model().weightPrecision, .fp32)
    XCTAssertEqual(WeightPrecision.automatic(parameterCount: 8_000_000_000), .native)
    let directory = try Fixtures.unpack("quants.tar.gz") + "/quants"
    for file in ["Q4_K_M", "Q6_K", "Q5_1"] {
      let path = directory + "/\(file).gguf"
      let fp32 = try DecoderModel(path: path, weights: .fp32)
      let native = try DecoderModel(path: path, weights: .native)
      let tokens = [5, 9, 17, 33, 65, 129]
      let a = try fp32.forward([ForwardChunk(tokens: tokens, cache: fp32.makeCache(), promptLength: 6)], logits: .all)
      let b = try native.forward([ForwardChunk(tokens: tokens, cache: native.makeCache(), promptLength: 6)], logits: .all)
      XCTAssertLessThan(zip(a.storage, b.storage).map { $0 - $1 }.norm / a.storage.norm, 1e-5, file)
    }
  }
}
