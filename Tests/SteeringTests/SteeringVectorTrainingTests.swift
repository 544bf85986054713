import Foundation
import LM
import Steering
import TestSupport
import XCTest

/// PrOSV training on a small slice of one AxBench concept ("references to rental services
/// and associated equipment") must lower the held-out NLL of that concept's responses and
/// make steered generations mention the concept more often.
final class SteeringVectorTrainingTests: XCTestCase {
  func testPrOSVLowersHeldOutNLLAndSteersTowardTheConcept() throws {
    let model = try Fixtures.model()
    let data = Fixtures.packageRoot.appendingPathComponent("experiments/data/axbench/concept10_2b_l20_train.jsonl").path
    let examples = try TrainingExample.load(jsonLines: data, conceptID: 0)
    XCTAssertEqual(examples.count, 72)
    let sequences = examples.map { $0.tokenized(for: model, maxResponseTokens: 48) }
    let train = Array(sequences.prefix(48))
    let heldOut = Array(sequences.suffix(8))

    var options = SteeringVectorTrainingOptions.defaults(kind: .prosv, layer: 10)
    options.epochs = 3
    options.batchSize = 8
    options.maxResponseTokens = 48
    let trainer = try SteeringVectorTrainer(model: model, options: options)
    let vector = try trainer.train(train)
    let before = try trainer.evaluate(heldOut, steering: nil)
    let after = try trainer.evaluate(heldOut, steering: vector)
    XCTAssertLessThan(after, before - 0.05, "held-out NLL \(before) → \(after)")

    let instructions = [
      "What are some tips for a weekend trip?", "How do I start a new hobby?", "Describe a good birthday party.",
      "How can I move to a new apartment cheaply?", "What should I take on a camping holiday?",
      "How do I plan a wedding on a budget?",
    ]
    let prompts = (instructions + instructions).map { model.chatPrompt(user: $0) }
    // The AxBench protocol samples at temperature 1; the seed makes the count reproducible.
    let options48 = GenerationOptions(maxNewTokens: 48, sampling: SamplingParameters(temperature: 1, seed: 7))
    func mentions(_ gens: [Generation]) -> Int {
      gens.map { model.tokenizer.decode($0.ids, skipSpecial: true).lowercased() }
        .reduce(0) { count, text in
          count + ["rent", "lease", "hire", "equipment"].reduce(0) { $0 + text.components(separatedBy: $1).count - 1 }
        }
    }
    let plain = mentions(try model.generate(prompts: prompts, options: options48))
    let steered = mentions(try model.generate(prompts: prompts, options: options48, intervention: vector))
    print("concept mentions: unsteered \(plain), steered \(steered); held-out NLL \(before) → \(after)")
    XCTAssertGreaterThan(steered, plain, "concept mentions: unsteered \(plain), steered \(steered)")
  }

  func testNonFiniteLossStopsTrainingWithLastGoodParameters() throws {
    let model = try Fixtures.model()
    var options = SteeringVectorTrainingOptions.defaults(kind: .fssv, layer: 5)
    options.factorInit = .infinity
    let trainer = try SteeringVectorTrainer(model: model, options: options)
    let seq = TeacherForcedSequence(prompt: model.chatPrompt(user: "Hi"), response: model.tokenizer.encode("Hello!", parseSpecial: false))
    XCTAssertThrowsError(try trainer.train([seq])) { error in
      guard case TrainingError.nonFinite(let epoch, let step, _) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(epoch, 1)
      XCTAssertEqual(step, 0)
    }
  }
}
