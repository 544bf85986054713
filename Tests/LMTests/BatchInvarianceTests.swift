import LM
import Tensor
import TestSupport
import XCTest

/// A row's product, and so a sequence's decoding, must not depend on how many rows share the
/// call: continuous batching and compare's one-batch factor sweeps promise the tokens a sequence
/// makes alone. Equality here is bitwise.
final class BatchInvarianceTests: XCTestCase {
  func testEachRowOfAQuantizedProductIsTheSameForAnyRowCount() throws {
    try XCTSkipUnless(QuantizedMatrix.isSupported, "needs AVX2 and FMA")
    var g = SeededGenerator(seed: 21)
    // 301 weight rows: groups of eight, four, pairs and a single column at the end of a core's share.
    // k = 800: panel products (from 8 rows) take k in steps of 256 and rows in blocks of 120.
    for (rows, cols, m) in [(301, 128, 19), (37, 800, 250)] {
      checkRowsOfQuantizedProducts(rows: rows, cols: cols, m: m, using: &g)
    }
  }

  private func checkRowsOfQuantizedProducts(rows: Int, cols: Int, m: Int, using g: inout SeededGenerator) {
    for format in [QuantizedMatrix.Format.q4_1, .q8_0, .q8_1] {
      let perRow = format == .q8_0 ? cols / 32 : 2 * cols / 32
      let scales = (0..<(rows * perRow)).map { _ in Float.random(in: -0.05...0.05, using: &g) }
      let quants = (0..<(rows * cols / (format == .q4_1 ? 2 : 1))).map { _ in UInt8.random(in: 0...255, using: &g) }
      let q = QuantizedMatrix(format: format, rows: rows, cols: cols, scales: scales, quants: quants)
      let x = (0..<(m * cols)).map { _ in Float.random(in: -1...1, using: &g) }
      func product(_ count: Int, from first: Int) -> [Float] {
        var y = [Float](repeating: 0, count: count * rows)
        x.withUnsafeBufferPointer { xp in
          y.withUnsafeMutableBufferPointer { q.multiply(m: count, a: xp.baseAddress! + first * cols, c: $0.baseAddress!) }
        }
        return y
      }
      let all = product(m, from: 0)
      for i in stride(from: 0, to: m, by: m > 100 ? 7 : 1) {
        XCTAssertEqual(Array(all[(i * rows)..<((i + 1) * rows)]), product(1, from: i), "\(format) row \(i) of \(m)")
      }
      XCTAssertEqual(Array(product(5, from: 7)[(2 * rows)..<(3 * rows)]), product(1, from: 9), "\(format) inside a group of 5")
    }
  }

  func testADecodeStepGivesTheSameLogitsAloneAndInBatchesOfEveryGroupSize() throws {
    let model = try Fixtures.model()
    let prompts = ["Hi", "Tell me a story", "What is 2+2?", "Colours", "Why?", "Name a fruit.", "Go on.", "Sing.", "Be brief."]
      .map { model.chatPrompt(user: $0) }
    func lastStep(_ indices: [Int]) throws -> Matrix {
      let chunks = try indices.map { i -> ForwardChunk in
        let cache = model.makeCache()
        try model.forward([ForwardChunk(tokens: Array(prompts[i].dropLast()), cache: cache, promptLength: prompts[i].count)])
        return ForwardChunk(tokens: [prompts[i].last!], cache: cache, promptLength: prompts[i].count)
      }
      return try model.forward(chunks)
    }
    let alone = try lastStep([0]).row(0)
    for m in 2...prompts.count {
      XCTAssertEqual(try lastStep(Array(0..<m)).row(0), alone, "sequence 0 in a batch of \(m)")
    }
  }

  func testGenerateGivesEachPromptWhatItGivesAlone() throws {
    let model = try Fixtures.model()
    let long = String(repeating: "Tell me more about the history of this old harbour town. ", count: 8)
    let prompts = ["Hi", "Name three rivers.", long, "Why is the sea salty?", "Write a haiku."].map { model.chatPrompt(user: $0) }
    XCTAssertGreaterThan(prompts[2].count, 64, "one prompt takes sgemm products when prefilled")
    let options = GenerationOptions(maxNewTokens: 24, sampling: SamplingParameters(temperature: 0.9, seed: 11))
    let together = try model.generate(prompts: prompts, options: options)
    for (i, prompt) in prompts.enumerated() {
      let alone = try model.generate(prompts: [prompt], options: options, streams: [i])[0]
      XCTAssertEqual(together[i].ids, alone.ids, "prompt \(i)")
    }
  }
}
