import LM
import Tensor
import TestSupport
import XCTest

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

  func testDefaultPrecisionIsNativeWithPanelsAndQuantizedFilesRunNative() throws {
    XCTAssertEqual(try Fixtures.model().weightPrecision, PackedRows.isSupported ? .native : .fp32)
    XCTAssertEqual(WeightPrecision.automatic(parameterCount: 135_000_000, panels: true), .native)
    XCTAssertEqual(WeightPrecision.automatic(parameterCount: 135_000_000, panels: false), .fp32)
    XCTAssertEqual(WeightPrecision.automatic(parameterCount: 8_000_000_000, panels: false), .native)
    let directory = try Fixtures.quantFiles()
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

  /// A Q4_K_M file of each family (llama.cpp's quantizer; Q4_K, Q6_K and the fallback types where
  /// a width is not a multiple of 256) run on its blocks gives the logits of the same file
  /// dequantized to fp32: a prefill of 12 tokens and then single-token steps, the decode kernels'
  /// path.
  func testKQuantizedModelOfEachFamilyMatchesItsFP32Dequantization() throws {
    let directory = try Fixtures.quantFiles()
    for file in ["Q4_K_M", "qwen2-Q4_K_M", "qwen3-Q4_K_M", "gemma2-Q4_K_M"] {
      let path = directory + "/\(file).gguf"
      let fp32 = try DecoderModel(path: path, weights: .fp32)
      let native = try DecoderModel(path: path, weights: .native)
      let (cacheA, cacheB) = (fp32.makeCache(), native.makeCache())
      var tokens = [5, 9, 17, 33, 65, 129, 7, 11, 19, 40, 80, 160]
      for step in 0..<4 {
        let a = try fp32.forward([ForwardChunk(tokens: tokens, cache: cacheA, promptLength: 12)], logits: .all)
        let b = try native.forward([ForwardChunk(tokens: tokens, cache: cacheB, promptLength: 12)], logits: .all)
        XCTAssertLessThan(zip(a.storage, b.storage).map { $0 - $1 }.norm / a.storage.norm, 1e-4, "\(file) step \(step)")
        let last = a.row(tokens.count - 1)
        tokens = [last.indices.max { last[$0] < last[$1] }!]
      }
    }
  }
}
