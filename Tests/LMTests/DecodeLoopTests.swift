import Foundation
import LM
import Steering
import TestSupport
import XCTest

/// Continuous batching: sequences that join a running batch, each with its own steering, sampling
/// and length, make the tokens that each makes alone with `generate`.
final class DecodeLoopTests: XCTestCase {
  /// Sendable by hand: the loop's callbacks write it under `lock`; the test reads it after they end.
  private final class Collected: @unchecked Sendable {
    let lock = NSLock()
    var results: [Int: Generation] = [:]
    var streamed: [Int: [Int]] = [:]
  }

  func testSequencesJoiningMidFlightMatchGenerateAlone() throws {
    let model = try Fixtures.model()
    let d = model.configuration.modelDimension
    let prosv = try SteeringFile.load(Fixtures.packageRoot.appendingPathComponent("experiments/prosv/rental.prosv.json").path)
    var generator = SeededGenerator(seed: 9)
    let vector = (0..<d).map { _ in Float.random(in: -1...1, using: &generator) }
    let cases: [(prompt: [Int], steering: (any Intervention)?, temperature: Float, maxNew: Int)] = [
      (model.chatPrompt(user: "Tell me about the moon."), nil, 0, 24),
      (model.chatPrompt(user: "What should I do this weekend?"), try prosv.intervention(for: model, factor: 2), 0.8, 16),
      (model.chatPrompt(user: "Name a colour."), AdditiveVector(layer: 12, alpha: 3, vector: vector, positions: .all), 1, 20),
      (model.chatPrompt(user: "Why is the sky blue?", system: "Answer like a pirate."), nil, 0.7, 8),
    ]
    let expected = try cases.enumerated().map { i, c in
      try model.generate(
        prompts: [c.prompt],
        options: GenerationOptions(maxNewTokens: c.maxNew, sampling: SamplingParameters(temperature: c.temperature, seed: 4)),
        intervention: c.steering, streams: [i])[0]
    }

    let loop = DecodeLoop(model: model, maxBatch: 3)
    let collected = Collected()
    let started = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    func request(_ i: Int) -> DecodeLoop.Request {
      done.enter()
      let c = cases[i]
      return DecodeLoop.Request(
        prompt: c.prompt, maxNewTokens: c.maxNew, sampling: SamplingParameters(temperature: c.temperature, seed: 4), stream: i,
        intervention: c.steering,
        onToken: { token in
          collected.lock.withLock { collected.streamed[i, default: []].append(token) }
          if i == 0 && collected.lock.withLock({ collected.streamed[0]!.count }) == 3 { started.signal() }
          return true
        },
        onFinish: { outcome in
          collected.lock.withLock { collected.results[i] = try? outcome.get() }
          done.leave()
        })
    }
    loop.submit([request(0)])
    started.wait()  // the others join a batch that is already decoding
    loop.submit([request(1), request(2), request(3)])  // one more than fits: it waits for a place
    XCTAssertEqual(done.wait(timeout: .now() + 120), .success)
    for i in cases.indices {
      XCTAssertEqual(collected.results[i]?.ids, expected[i].ids, "sequence \(i)")
      XCTAssertEqual(collected.results[i]?.finishReason, expected[i].finishReason, "sequence \(i)")
      XCTAssertEqual(collected.streamed[i] ?? [], expected[i].ids, "sequence \(i) streamed")
    }
    XCTAssertEqual(loop.statistics.largestBatch, 3)
    XCTAssertEqual(loop.statistics.tokens, expected.reduce(0) { $0 + $1.ids.count })
  }

  func testStoppingOneSequenceLeavesTheOthers() throws {
    let model = try Fixtures.model()
    let prompt = model.chatPrompt(user: "Count from one to twenty.")
    let alone = try model.generate(prompts: [prompt], options: GenerationOptions(maxNewTokens: 12))[0]
    let loop = DecodeLoop(model: model)
    let done = DispatchGroup()
    let collected = Collected()
    loop.submit(
      (0..<2).map { i in
        done.enter()
        return DecodeLoop.Request(
          prompt: prompt, maxNewTokens: 12, sampling: .greedy, stream: i,
          onToken: { _ in i == 1 ? false : true },
          onFinish: { outcome in
            collected.lock.withLock { collected.results[i] = try? outcome.get() }
            done.leave()
          })
      })
    XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
    XCTAssertEqual(collected.results[0]?.ids, alone.ids)
    XCTAssertEqual(collected.results[1]?.ids, Array(alone.ids.prefix(1)))
    XCTAssertEqual(collected.results[1]?.finishReason, .stopped)
  }
}
