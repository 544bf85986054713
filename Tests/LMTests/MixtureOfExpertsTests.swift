import Foundation
import LM
import Tensor
import TestSupport
import XCTest

/// The mixture-of-experts families beyond every family's reference tests: experts quantized by
/// llama.cpp's converter (Q8_0, stacked) read in place, and what the configuration says.
final class MixtureOfExpertsTests: XCTestCase {
  func testQuantizedExpertsGiveTheirDequantizedWeightsOutputs() throws {
    for family in FamilyFixture.mixtures {
      let fixture = try FamilyFixture.load(family)
      let ids = fixture.reference["ids"] as! [Int]
      let native = try DecoderModel(path: fixture.quantizedGGUF, weights: .native)
      let dense = try DecoderModel(path: fixture.quantizedGGUF, weights: .fp32)
      let exact = try DecoderModel(path: fixture.gguf)
      func logits(_ m: DecoderModel) throws -> Matrix {
        try m.forward([ForwardChunk(tokens: ids, cache: m.makeCache(capacity: ids.count), promptLength: ids.count)], logits: .all)
      }
      let q = try logits(native)
      let f = try logits(dense)
      let e = try logits(exact)
      // The same Q8_0 blocks, expanded in the kernels or copied to fp32 once: arithmetic only.
      XCTAssertLessThan(zip(q.storage, f.storage).map { $0 - $1 }.norm / f.storage.norm, 1e-4, "\(family) native vs fp32")
      // Q8_0 against the unquantized file: 8-bit rounding of every projection, through three
      // random layers whose routing a rounding can flip (measured 0.055 and 0.099).
      XCTAssertLessThan(zip(q.storage, e.storage).map { $0 - $1 }.norm / e.storage.norm, 0.15, "\(family) Q8_0 vs exact")
      let c = native.configuration
      XCTAssertEqual(c.experts?.count, 4, family)
      XCTAssertEqual(c.experts?.perToken, 2, family)
      XCTAssertEqual(c.experts?.normalizesWeights, true, family)
    }
  }

  func testMixtralGGUFIsALlamaFileWithExperts() throws {
    let fixture = try FamilyFixture.load("mixtral")
    let gguf = try DecoderModel(path: fixture.gguf)
    XCTAssertEqual(gguf.configuration.family, .llama)
    XCTAssertEqual(gguf.configuration.family.llamaCppArchitecture, "llama")
    let hf = try DecoderModel(path: fixture.huggingFace)
    XCTAssertEqual(hf.configuration.family, .mixtral)
    XCTAssertEqual(hf.configuration.family.llamaCppArchitecture, "llama")
    XCTAssertEqual(hf.configuration.experts, gguf.configuration.experts)
  }
}
