import LM
import Tensor
import TestSupport
import XCTest

/// Packing sequences of different lengths and decoding from the cache must give what
/// each sequence gives alone, in one pass.
final class BatchingTests: XCTestCase {
  private func lastLogits(_ model: DecoderModel, _ ids: [Int]) throws -> [Float] {
    try model.forward([ForwardChunk(tokens: ids, cache: model.makeCache(), promptLength: ids.count)]).row(0)
  }

  private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max()!
  }

  func testPackedBatchEqualsSeparatePasses() throws {
    let model = try Fixtures.model()
    let a = model.chatPrompt(user: "What is the capital of France?")
    let b = model.chatPrompt(user: "Write a haiku about autumn leaves falling slowly.", system: "Be brief.")
    let packed = try model.forward([
      ForwardChunk(tokens: a, cache: model.makeCache(), promptLength: a.count),
      ForwardChunk(tokens: b, cache: model.makeCache(), promptLength: b.count),
    ])
    XCTAssertLessThan(maxDifference(packed.row(0), try lastLogits(model, a)), 1e-3)
    XCTAssertLessThan(maxDifference(packed.row(1), try lastLogits(model, b)), 1e-3)
  }

  func testIncrementalDecodingEqualsFullPrefill() throws {
    let model = try Fixtures.model()
    let ids = model.chatPrompt(user: "Name three colours.")
    let cache = model.makeCache(capacity: 4)  // small, so it must grow
    try model.forward([ForwardChunk(tokens: Array(ids.prefix(ids.count - 3)), cache: cache, promptLength: ids.count)])
    var last = Matrix(rows: 0, cols: 0)
    for token in ids.suffix(3) {
      last = try model.forward([ForwardChunk(tokens: [token], cache: cache, promptLength: ids.count)])
    }
    XCTAssertEqual(cache.count, ids.count)
    XCTAssertLessThan(maxDifference(last.row(0), try lastLogits(model, ids)), 1e-3)
  }

  /// Prefill attention runs in causal blocks of 64 query rows; every row of a long prefill,
  /// including a second chunk that starts mid-block, must equal token-by-token decoding.
  func testBlockedPrefillAttentionEqualsTokenByTokenDecoding() throws {
    let model = try Fixtures.model()
    let text = String(repeating: "The keeper lit the lamp and watched the ships pass the rocks at night. ", count: 12)
    let ids = Array(model.tokenizer.encode(text, parseSpecial: false).prefix(150))
    XCTAssertEqual(ids.count, 150)
    let split = 70
    let cache = model.makeCache(capacity: ids.count)
    let first = try model.forward([ForwardChunk(tokens: Array(ids[..<split]), cache: cache, promptLength: 0)], logits: .all)
    let second = try model.forward([ForwardChunk(tokens: Array(ids[split...]), cache: cache, promptLength: 0)], logits: .all)
    let stepwise = model.makeCache(capacity: ids.count)
    for (p, token) in ids.enumerated() {
      let row = try model.forward([ForwardChunk(tokens: [token], cache: stepwise, promptLength: 0)]).row(0)
      guard [0, 63, 64, 65, 69, 70, 127, 128, 133, 149].contains(p) else { continue }
      let blocked = p < split ? first.row(p) : second.row(p - split)
      XCTAssertLessThan(maxDifference(blocked, row), 2e-3, "position \(p)")
    }
  }

  func testSeededSamplingIsReproducibleAndIndependentOfBatch() throws {
    let model = try Fixtures.model()
    let p1 = model.chatPrompt(user: "Tell me a story.")
    let p2 = model.chatPrompt(user: "List some fruits.")
    let options = GenerationOptions(maxNewTokens: 12, sampling: SamplingParameters(temperature: 1, topK: 40, topP: 0.95, seed: 42))
    let together = try model.generate(prompts: [p1, p2], options: options)
    let again = try model.generate(prompts: [p1, p2], options: options)
    XCTAssertEqual(together, again)
    var other = options
    other.sampling.seed = 43
    XCTAssertNotEqual(try model.generate(prompts: [p1, p2], options: other).map(\.ids), together.map(\.ids))
  }

  func testOutOfRangeTokenAndEmptyPromptAreErrors() throws {
    let model = try Fixtures.model()
    XCTAssertThrowsError(try model.forward([ForwardChunk(tokens: [49152], cache: model.makeCache(), promptLength: 1)])) {
      XCTAssertEqual($0 as? ModelError, .tokenOutOfRange(49152, vocabularySize: 49152))
    }
    XCTAssertThrowsError(try model.generate(prompts: [[]], options: GenerationOptions()))
  }
}
