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
    // Sliding windows (and their rings), soft-caps and biases in the decode kernel agree with the
    // prefill path. Each step is compared with one pass over the sequence so far: with LongRoPE
    // (phi3) the rotation depends on that length, and crossing the original context runs the
    // cached past again.
    for family in FamilyFixture.families {
      let fixture = try FamilyFixture.load(family)
      let ids = fixture.reference["ids"] as! [Int]
      let model = try DecoderModel(path: fixture.gguf)
      let cache = model.makeCache(capacity: 2)
      try model.forward([ForwardChunk(tokens: Array(ids.prefix(4)), cache: cache, promptLength: 4)], logits: .none)
      for p in 4..<ids.count {
        let step = try model.forward([ForwardChunk(tokens: [ids[p]], cache: cache, promptLength: 4)], logits: .last)
        let prefix = Array(ids[...p])
        let whole = try model.forward(
          [ForwardChunk(tokens: prefix, cache: model.makeCache(capacity: prefix.count), promptLength: 4)], logits: .last)
        let difference = zip(step.row(0), whole.row(0)).map { $0 - $1 }.norm
        XCTAssertLessThan(difference / whole.row(0).norm, 1e-4, "\(family) position \(p)")
      }
    }
  }
}
