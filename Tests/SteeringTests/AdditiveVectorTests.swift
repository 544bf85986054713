import LM
import Steering
import Tensor
import TestSupport
import XCTest

/// Adds a vector by hand: the reference for what `AdditiveVector` must do.
private final class HandAddition: Intervention {
  let layers: Set<Int>
  let vector: [Float]
  let alpha: Float
  let rows: (TokenSlot) -> Bool

  init(layer: Int, alpha: Float, vector: [Float], rows: @escaping (TokenSlot) -> Bool) {
    layers = [layer]
    self.alpha = alpha
    self.vector = vector
    self.rows = rows
  }

  func edit(layer: Int, hidden: HiddenStates) {
    for r in 0..<hidden.rows where rows(hidden.slots[r]) {
      for i in 0..<hidden.width { hidden.row(r)[i] += alpha * vector[i] }
    }
  }
}

final class AdditiveVectorTests: XCTestCase {
  private func randomVector(_ d: Int, seed: UInt64) -> [Float] {
    var g = SeededGenerator(seed: seed)
    return (0..<d).map { _ in g.nextUnit() - 0.5 }
  }

  func testHookChangesOutputExactlyAsAddingByHand() throws {
    let model = try Fixtures.model()
    let d = model.configuration.modelDimension
    let v = randomVector(d, seed: 3)
    let prompt = model.chatPrompt(user: "Describe the sea.")
    let options = GenerationOptions(maxNewTokens: 16)
    let steered = try model.generate(prompts: [prompt], options: options, intervention: AdditiveVector(layer: 10, alpha: 6, vector: v))
    let byHand = try model.generate(
      prompts: [prompt], options: options, intervention: HandAddition(layer: 10, alpha: 6, vector: v) { _ in true })
    let plain = try model.generate(prompts: [prompt], options: options)
    XCTAssertEqual(steered[0].ids, byHand[0].ids)
    XCTAssertNotEqual(steered[0].ids, plain[0].ids, "a large vector must change the greedy output")

    let cacheA = model.makeCache()
    let cacheB = model.makeCache()
    let a = try model.forward(
      [ForwardChunk(tokens: prompt, cache: cacheA, promptLength: prompt.count)], logits: .all,
      intervention: AdditiveVector(layer: 10, alpha: 6, vector: v))
    let b = try model.forward(
      [ForwardChunk(tokens: prompt, cache: cacheB, promptLength: prompt.count)], logits: .all,
      intervention: HandAddition(layer: 10, alpha: 6, vector: v) { _ in true })
    XCTAssertEqual(a.storage, b.storage, "bit-for-bit equal logits")
  }

  func testPromptPositionsEditOnlyTheirTokens() throws {
    let model = try Fixtures.model()
    let d = model.configuration.modelDimension
    let v = randomVector(d, seed: 5)
    let prompt = model.chatPrompt(user: "Hello there")
    let response = model.tokenizer.encode("Hi! How can I help?", parseSpecial: false)
    let ids = prompt + response
    func layerStates(_ edit: (any Intervention)?) throws -> [[Float]] {
      let recorder = Recorder(layers: [12])
      let chain = InterventionChain([edit, recorder].compactMap { $0 })
      try model.forward([ForwardChunk(tokens: ids, cache: model.makeCache(), promptLength: prompt.count)], intervention: chain)
      return recorder.states[12]!
    }
    let base = try layerStates(nil)
    let steered = try layerStates(AdditiveVector(layer: 12, alpha: 2, vector: v, positions: try PositionSet(parsing: "p2+s2")))
    let touched = Set([0, 1, prompt.count - 2, prompt.count - 1])
    for p in 0..<ids.count {
      let delta = zip(steered[p], base[p]).map { $0 - $1 }
      if touched.contains(p) {
        for i in 0..<d { XCTAssertEqual(delta[i], 2 * v[i], accuracy: 1e-4) }
      } else {
        XCTAssertEqual(delta, [Float](repeating: 0, count: d), "position \(p) must be untouched")
      }
    }
  }

  func testPositionSetParsing() throws {
    XCTAssertEqual(try PositionSet(parsing: "p2+s2"), .prompt(prefix: 2, suffix: 2))
    XCTAssertEqual(try PositionSet(parsing: "s1"), .prompt(prefix: 0, suffix: 1))
    XCTAssertEqual(try PositionSet(parsing: "all"), .all)
    XCTAssertEqual(PositionSet.prompt(prefix: 4, suffix: 0).description, "p4")
    XCTAssertThrowsError(try PositionSet(parsing: "q3"))
    XCTAssertThrowsError(try PositionSet(parsing: "p0"))
    XCTAssertTrue(PositionSet.prompt(prefix: 2, suffix: 2).contains(.prompt(index: 8, length: 10)))
    XCTAssertFalse(PositionSet.prompt(prefix: 2, suffix: 2).contains(.prompt(index: 5, length: 10)))
    XCTAssertFalse(PositionSet.prompt(prefix: 2, suffix: 2).contains(.response(index: 0)))
  }
}
