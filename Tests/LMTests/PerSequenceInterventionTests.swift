import LM
import Steering
import TestSupport
import XCTest

/// `generate(perSequence:)`: each sequence keeps its own intervention after others have finished
/// and the batch's chunk indices have shifted (a factor sweep in one batch depends on it).
final class PerSequenceInterventionTests: XCTestCase {
  func testEachSequenceKeepsItsOwnSteeringAfterAnEarlierOneEnds() throws {
    let model = try Fixtures.model()
    var g = SeededGenerator(seed: 3)
    let vector = (0..<model.configuration.modelDimension).map { _ in Float.random(in: -1...1, using: &g) }
    let base = AdditiveVector(layer: 12, alpha: 1, vector: vector, positions: .all)
    let prompt = model.chatPrompt(user: "Describe a quiet morning.")
    let factors: [Float?] = [nil, 2, 0, 4]
    let steering: [(any Intervention)?] = factors.map { f in f.map { base.scaled(by: $0) } }
    let options = GenerationOptions(maxNewTokens: 12)
    // Sequence 0 ends after its first token, so from the second step on every other sequence sits
    // one chunk lower in the batch.
    let together = try model.generate(
      prompts: Array(repeating: prompt, count: factors.count), options: options, perSequence: steering,
      onToken: { sequence, _ in sequence != 0 })
    XCTAssertEqual(together[0].ids.count, 1)
    for i in 1..<factors.count {
      let alone = try model.generate(prompts: [prompt], options: options, intervention: steering[i])[0]
      XCTAssertEqual(together[i].ids, alone.ids, "sequence \(i) (factor \(String(describing: factors[i])))")
    }
    XCTAssertNotEqual(together[1].ids, together[3].ids, "the factors steer differently")
    XCTAssertThrowsError(try model.generate(prompts: [prompt], options: options, perSequence: []))
  }
}
