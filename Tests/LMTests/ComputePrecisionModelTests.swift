import Foundation
import LM
import Steering
import Tensor
import TestSupport
import XCTest

/// Whole models with `ComputePrecision.int8` on llama.cpp-quantized files (Tests/Fixtures/quants*.tar.gz:
/// K-quant llama, qwen2, qwen3 and gemma2 of width 256, and llama in Q4_0…Q8_0): within the error
/// budget of docs/PRECISION.md against fp32, deterministic, and batch-invariant.
final class ComputePrecisionModelTests: XCTestCase {
  private static let root: Result<String, Error> = Result { try Fixtures.quantFiles() }
  private static let files = ["Q4_K_M", "Q5_K_M", "Q6_K", "qwen2-Q4_K_M", "qwen3-Q4_K_M", "gemma2-Q4_K_M"]

  private func sequences(_ model: DecoderModel) -> [TeacherForcedSequence] {
    let texts = [
      ("Name three colours.", "Red, green and blue are three colours."),
      ("What is 12 times 7?", "Twelve times seven is 84, since 10·7 + 2·7 = 70 + 14."),
      ("Write a haiku about rain.", "Soft rain on the roof / the garden drinks in silence / puddles hold the sky"),
    ]
    return texts.map { TeacherForcedSequence(prompt: model.chatPrompt(user: $0.0), response: model.tokenizer.encode($0.1, parseSpecial: false)) }
  }

  private func load(_ file: String, _ compute: ComputePrecision) throws -> DecoderModel {
    try DecoderModel(path: try Self.root.get() + "/\(file).gguf", compute: compute)
  }

  /// The budget on these one-layer random-weight checkpoints, measured 2026-12-06 and 07 (psr
  /// precision): mean KL 0.00016–0.00083 (K-quants) and 0.00046–0.00049 (Q4_0…Q8_0), gradient
  /// cosine ≥ 0.99994. Asserted with margin: mean KL ≤ 0.005, cosine ≥ 0.9999; and the KL is not 0
  /// (the 8-bit products ran).
  func testInt8StaysWithinTheBudgetOfFP32() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    try assertWithinBudget(.int8, files: Self.files + Self.blockFiles, meanKL: 0.005)
  }

  /// The 32-weight block types, whose int8 products are `Q8BlockRows` × `QuantizedMatrix`.
  private static let blockFiles = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]

  /// Each file at `compute` against fp32: KL above 0 (the narrower products ran) and below
  /// `meanKL`, gradient cosine above 0.9999, greedy agreement above 0.8.
  private func assertWithinBudget(_ compute: ComputePrecision, files: [String], meanKL: Double) throws {
    for file in files {
      let reference = try load(file, .fp32), candidate = try load(file, compute)
      XCTAssertEqual(candidate.computePrecision, compute)
      let c = try PrecisionComparison(reference: reference, candidate: candidate, sequences: sequences(reference), layer: 0)
      XCTAssertGreaterThan(c.meanKL, 0, file)
      XCTAssertLessThan(c.meanKL, meanKL, file)
      XCTAssertGreaterThan(c.gradientCosine, 0.9999, file)
      XCTAssertGreaterThan(c.greedyAgreement, 0.8, file)
    }
  }

  /// The comparison itself: fp32 against fp32 is KL 0, full agreement, cosine 1.
  func testFP32AgainstItselfIsExact() throws {
    let a = try load("Q4_K_M", .fp32), b = try load("Q4_K_M", .fp32)
    let c = try PrecisionComparison(reference: a, candidate: b, sequences: sequences(a), layer: 0)
    XCTAssertEqual(c.meanKL, 0)
    XCTAssertEqual(c.greedyAgreement, 1)
    XCTAssertEqual(c.gradientCosine, 1, accuracy: 1e-12)
  }

  /// int8 logits are the same bits run after run, and a sequence's logits do not depend on the
  /// other sequences of its batch.
  func testInt8IsDeterministicAndBatchInvariant() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    try assertDeterministicAndBatchInvariant(try load("qwen2-Q4_K_M", .int8))
    try assertDeterministicAndBatchInvariant(try load("Q4_1", .int8))
  }

  /// The second sequence's logits are the same bits twice alone, and alone as in a batch of all three.
  private func assertDeterministicAndBatchInvariant(_ model: DecoderModel) throws {
    let texts = sequences(model).map { $0.prompt + $0.response }
    func logits(_ batch: [[Int]]) throws -> Matrix {
      try model.forward(batch.map { ForwardChunk(tokens: $0, cache: model.makeCache(capacity: $0.count), promptLength: $0.count) }, logits: .all)
    }
    let alone = try logits([texts[1]])
    XCTAssertEqual(try logits([texts[1]]), alone)
    let together = try logits(texts)
    let first = texts[0].count
    for r in 0..<texts[1].count { XCTAssertEqual(together.row(first + r), alone.row(r), "row \(r)") }
  }

  /// bf16 products run on every weight type. Measured 2026-12-06 (psr precision, 3 examples, layer
  /// 0) on these fixtures: mean KL 0.00002–0.00008, gradient cosine ≥ 0.999994. Asserted with
  /// margin: mean KL ≤ 0.002, cosine ≥ 0.9999, agreement ≥ 0.8; and the KL is not 0 (the bf16
  /// products ran).
  func testBF16StaysWithinTheBudgetOfFP32() throws {
    try XCTSkipUnless(ComputePrecision.bf16IsSupported, "needs AVX-512 with AVX512_BF16")
    try assertWithinBudget(.bf16, files: Self.files + ["Q4_1", "Q8_0", "F16", "BF16"], meanKL: 0.002)
  }

  /// bf16 logits are the same bits run after run, and a sequence's logits do not depend on the
  /// other sequences of its batch as long as every product has enough rows to run as bf16 panels
  /// (from `PackedRows.minimumRows`; fewer rows run the fp32 decode kernels, which is why bf16 is
  /// not batch-invariant across that line: docs/PRECISION.md).
  func testBF16IsDeterministicAndBatchInvariantAbovePanelRows() throws {
    try XCTSkipUnless(ComputePrecision.bf16IsSupported, "needs AVX-512 with AVX512_BF16")
    let model = try load("qwen2-Q4_K_M", .bf16)
    XCTAssertTrue(sequences(model).allSatisfy { $0.prompt.count + $0.response.count >= PackedRows.minimumRows })
    try assertDeterministicAndBatchInvariant(model)
  }

  /// The input gradient runs bf16 at `bf16`, and at `int8` for quantized weights only; fp32
  /// where the CPU lacks AVX512_BF16, and always at `fp32`.
  func testInputGradientsRunBF16WhereInt8CannotCarryThem() {
    let bf16: ComputePrecision = ComputePrecision.bf16IsSupported ? .bf16 : .fp32
    XCTAssertEqual(ComputePrecision.fp32.inputGradient(quantizedWeights: true), .fp32)
    XCTAssertEqual(ComputePrecision.bf16.inputGradient(quantizedWeights: false), bf16)
    XCTAssertEqual(ComputePrecision.int8.inputGradient(quantizedWeights: true), ComputePrecision.int8IsSupported ? bf16 : .fp32)
    XCTAssertEqual(ComputePrecision.int8.inputGradient(quantizedWeights: false), .fp32)
  }

  /// How the weights are held does not change what int8 computes: an fp32 copy (`--weights fp32`)
  /// runs the same forward on the file's blocks and the same bf16 input gradients as `native`.
  /// Measured on this file (2026-12-07): the two steering gradients are the same bits, at int8 as
  /// at fp32; with the copy's input gradients left at fp32 (as before that day) they were 1.8e-3
  /// apart (relative). The bound, 1e-6, leaves room for a summation order that may differ (the
  /// copy multiplies a fused projection's parts in one product, native part by part).
  func testInt8GradientsDoNotDependOnHowTheWeightsAreHeld() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported && ComputePrecision.bf16IsSupported, "needs AVX-512 with VNNI and AVX512_BF16")
    let path = try Self.root.get() + "/Q4_K_M.gguf"
    func gradient(_ weights: WeightPrecision, _ compute: ComputePrecision) throws -> [Float] {
      let model = try DecoderModel(path: path, weights: weights, compute: compute)
      var generator = SeededGenerator(seed: 3)
      let direction = (0..<model.configuration.modelDimension).map { _ in Float.random(in: -0.1...0.1, using: &generator) }
      let vector = AdditiveVector(layer: 0, alpha: 1, vector: direction)
      _ = try model.meanResponseLoss(sequences(model), intervention: vector, backward: true)
      return vector.gradientVector
    }
    func relativeDistance(_ a: [Float], _ b: [Float]) -> Double {
      let d = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
      return (d / a.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
    }
    let native = try gradient(.native, .int8), copy = try gradient(.fp32, .int8)
    XCTAssertLessThan(relativeDistance(native, copy), 1e-6)
    // The layouts themselves at fp32, for scale.
    XCTAssertLessThan(relativeDistance(try gradient(.native, .fp32), try gradient(.fp32, .fp32)), 1e-6)
  }

  /// A pass that training differentiates runs q, k, v and down at `ComputePrecision.gradientPass`
  /// under int8, and every other pass all at int8: the same sequences' loss is the same bits with
  /// and without a backward at fp32, and differs at int8 (the two passes ran different products).
  /// Float weights have no 8-bit products to replace: at int8 they run fp32 in both passes.
  func testGradientPassesRunQKVAndDownApartUnderInt8() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    for file in ["Q4_K_M", "Q4_1", "F16"] {
      func losses(_ compute: ComputePrecision) throws -> (forward: Float, gradient: Float) {
        let model = try load(file, compute)
        let vector = AdditiveVector(layer: 0, alpha: 1, vector: [Float](repeating: 0.01, count: model.configuration.modelDimension))
        return (
          try model.responseLoss(sequences(model), intervention: vector),
          try model.responseLoss(sequences(model), intervention: vector, backward: true)
        )
      }
      let fp32 = try losses(.fp32), int8 = try losses(.int8)
      XCTAssertEqual(fp32.forward, fp32.gradient, file)
      if file == "F16" {
        XCTAssertEqual(int8.forward, int8.gradient, file)
      } else {
        XCTAssertNotEqual(int8.forward, int8.gradient, file)
      }
    }
  }

  /// Issue 31's budget on real weights: the steering-gradient cosine of int8 against fp32 on the
  /// default model (Q4_1), 4 AlpacaEval answers of 64 tokens at layer 5, seed 3 (`psr precision
  /// --compute int8 --examples 4 --max-tokens 64 --layer 5 --seed 3`). Measured 2026-12-07: 0.99939
  /// with the gradient pass's q/k/v and down at bf16, 0.99736 with every product at int8 (as
  /// before); at 16 × 128 tokens 0.9992–0.9997 across layers 5, 15 and 25 (docs/PRECISION.md).
  func testInt8SteeringGradientMeetsTheBudgetOnTheDefaultModel() throws {
    try XCTSkipUnless(ComputePrecision.int8IsSupported, "needs AVX-512 with VNNI")
    let reference = try DecoderModel(path: Fixtures.modelPath, compute: .fp32)
    let candidate = try DecoderModel(path: Fixtures.modelPath, compute: .int8)
    let data = Fixtures.packageRoot.appendingPathComponent("experiments/data/alpaca_eval/gpt4_outputs.jsonl")
    let lines = try String(contentsOf: data, encoding: .utf8).split(separator: "\n").prefix(4)
    struct Line: Decodable {
      var instruction: String
      var output: String
    }
    let sequences = try lines.compactMap { text in
      let line = try JSONDecoder().decode(Line.self, from: Data(text.utf8))
      return PrecisionComparison.sequence(model: reference, instruction: line.instruction, answer: line.output, maxTokens: 64)
    }
    XCTAssertEqual(sequences.count, 4)
    let c = try PrecisionComparison(reference: reference, candidate: candidate, sequences: sequences, layer: 5, seed: 3)
    XCTAssertGreaterThan(c.gradientCosine, 0.999)
    XCTAssertEqual(c.gradientCosine, 0.99939, accuracy: 3e-4)
  }

  /// `psr precision`'s sequences: the rendered prompt first, cut so that one answer token fits,
  /// then the answer up to the budget; nothing when no answer token fits.
  func testPrecisionSequencesFitTheBudgetPromptFirst() throws {
    let model = try DecoderModel(path: Fixtures.modelPath, compute: .fp32)
    let prompt = model.chatPrompt(user: "Name a colour.")
    let answer = model.tokenizer.encode("Blue, like the sky on a clear day.", parseSpecial: false)
    let whole = try XCTUnwrap(PrecisionComparison.sequence(model: model, instruction: "Name a colour.", answer: "Blue, like the sky on a clear day.", maxTokens: 1000))
    XCTAssertEqual(whole, TeacherForcedSequence(prompt: prompt, response: answer))
    let cut = try XCTUnwrap(PrecisionComparison.sequence(model: model, instruction: "Name a colour.", answer: "Blue, like the sky on a clear day.", maxTokens: prompt.count + 3))
    XCTAssertEqual(cut, TeacherForcedSequence(prompt: prompt, response: Array(answer.prefix(3))))
    let promptOnly = try XCTUnwrap(PrecisionComparison.sequence(model: model, instruction: "Name a colour.", answer: "Blue.", maxTokens: 5))
    XCTAssertEqual(promptOnly.prompt, Array(prompt.prefix(4)))
    XCTAssertEqual(promptOnly.response.count, 1)
    for maxTokens in [Int.min, -1, 0, 1] {
      XCTAssertNil(PrecisionComparison.sequence(model: model, instruction: "Name a colour.", answer: "Blue.", maxTokens: maxTokens))
    }
    XCTAssertNil(PrecisionComparison.sequence(model: model, instruction: "Name a colour.", answer: "", maxTokens: 64))
  }

  /// `auto` where the output is text: int8 where any projection is quantized, bf16 where all are
  /// float (F16 and BF16 files, a Hugging Face checkpoint and its float GGUF), int8 for a path that
  /// cannot be read (loading it then says why).
  func testAutomaticTextComputeFollowsTheWeightType() throws {
    let root = try Self.root.get()
    for file in Self.files + Self.blockFiles {
      XCTAssertEqual(DecoderModel.automaticTextCompute(path: root + "/\(file).gguf"), .int8, file)
    }
    for file in ["F16", "BF16"] { XCTAssertEqual(DecoderModel.automaticTextCompute(path: root + "/\(file).gguf"), .bf16, file) }
    let llama = try FamilyFixture.load("llama")
    XCTAssertEqual(DecoderModel.automaticTextCompute(path: llama.huggingFace), .bf16)
    XCTAssertEqual(DecoderModel.automaticTextCompute(path: llama.gguf), .bf16)
    XCTAssertEqual(DecoderModel.automaticTextCompute(path: try FamilyFixture.load("qwen3moe").quantizedGGUF), .int8)
    XCTAssertEqual(DecoderModel.automaticTextCompute(path: root + "/no-such-file.gguf"), .int8)
  }

  /// Native float weights at bf16 run bf16 products for any number of rows, so a sequence shorter
  /// than the 24 rows where quantized weights change kernels gives the same bits alone as in a
  /// batch of more (what `psr serve`'s `auto` needs of them).
  func testBF16OnFloatWeightsIsBatchInvariantAtAnyRowCount() throws {
    try XCTSkipUnless(ComputePrecision.bf16IsSupported, "needs AVX-512 with AVX512_BF16")
    for file in ["F16", "BF16"] {
      let model = try load(file, .bf16)
      let long = sequences(model).map { $0.prompt + $0.response }
      let short = model.tokenizer.encode("Soft rain on the roof.", parseSpecial: false)
      XCTAssertLessThan(short.count, PackedRows.minimumRows, file)
      func logits(_ batch: [[Int]]) throws -> Matrix {
        try model.forward(batch.map { ForwardChunk(tokens: $0, cache: model.makeCache(capacity: $0.count), promptLength: $0.count) }, logits: .all)
      }
      let alone = try logits([short])
      XCTAssertEqual(try logits([short]), alone, file)
      let together = try logits([long[0], short, long[1]])
      for r in 0..<short.count { XCTAssertEqual(together.row(long[0].count + r), alone.row(r), "\(file) row \(r)") }
    }
  }

  /// int8 asked for on a CPU without the products runs fp32 and says so in computePrecision.
  func testEffectivePrecisionFollowsTheCPU() throws {
    let model = try load("Q4_K_M", .int8)
    XCTAssertEqual(model.computePrecision, ComputePrecision.int8IsSupported ? .int8 : .fp32)
    let bf16 = try load("Q4_K_M", .bf16)
    XCTAssertEqual(bf16.computePrecision, ComputePrecision.bf16IsSupported ? .bf16 : .fp32)
  }
}
