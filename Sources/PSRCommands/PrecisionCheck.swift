import ArgumentParser
import CLICommon
import Foundation
import LM
import Steering
import Tensor

/// `psr precision`: how far `--compute int8` (or another precision) lies from fp32 on one file.
public struct PrecisionCheck: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "precision",
    abstract: "Measure what a compute precision costs against fp32 on one model: next-token KL, greedy agreement, steering-gradient cosine.",
    discussion: """
      Loads the model twice, at fp32 and at --compute (auto unless given: int8 \
      for quantized projections, bf16 for float ones), teacher-forces the same \
      sequences through both and prints one JSON line: the mean and maximum \
      KL(p_fp32 ‖ p) over every position, how often the two argmaxes agree, \
      and the cosine between the two gradients of the responses' mean NLL with \
      respect to a seeded random steering vector at --layer (what FSSV and \
      PrOSV training descend). docs/PRECISION.md records the numbers.

      The sequences are AlpacaEval instructions (rendered with the chat \
      template) and GPT-4's answers, cut to --max-tokens, from \
      experiments/data/alpaca_eval/gpt4_outputs.jsonl, or any JSON Lines file \
      with "instruction" and "output".

      8-bit products run on quantized weights (the K-quants and Q4_0–Q8_0; \
      float weights stay fp32), bf16 products on every weight type. Under int8 \
      the gradient's pass runs q, k, v and down at bf16, as training does, and \
      the KL's pass every product at int8, as generation does. \
      docs/PRECISION.md has the default model, SmolLM2 requantized to Q4_K_M \
      and real-shape files.

      Examples:
        psr precision --examples 4 --max-tokens 64
        psr precision --compute int8 --layer 10 --seed 3 --examples 2
        psr precision --compute bf16 --examples 4 --max-tokens 64
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: ArgumentHelp("JSON Lines with \"instruction\" and \"output\".", valueName: "file"))
  var data = "experiments/data/alpaca_eval/gpt4_outputs.jsonl"
  @Option(help: "How many examples (the file's first).") var examples = 16
  @Option(help: "Tokens kept of each example (prompt first, then the answer).") var maxTokens = 128
  @Option(help: "The steering layer of the gradient check (default: the middle layer).") var layer: Int?
  @Option(help: "Seed of the steering direction.") var seed: UInt64 = 0

  public func validate() throws {
    guard examples > 0 else { throw ValidationError("--examples must be positive") }
    guard maxTokens >= 2 else { throw ValidationError("--max-tokens must be at least 2") }
    if modelOptions.compute == .fp32 { throw ValidationError("--compute fp32 compares fp32 with itself; give int8, bf16 or auto") }
  }

  public func run() throws {
    var referenceOptions = modelOptions
    referenceOptions.compute = .fp32
    let reference = try referenceOptions.load()
    let candidate = try modelOptions.load(automaticCompute: modelOptions.textCompute)
    let layerCount = reference.configuration.layerCount
    let layer = self.layer ?? layerCount / 2
    guard (0..<layerCount).contains(layer) else { throw CLIError("--layer \(layer): the model has layers 0…\(layerCount - 1)") }
    let text = try readText(resolvePath(data), "--data")
    struct Line: Decodable {
      var instruction: String
      var output: String
    }
    var sequences: [TeacherForcedSequence] = []
    for line in JSONLines.decode(Line.self, from: text) {
      guard sequences.count < examples else { break }
      guard case .success(let l) = line.value else {
        throw CLIError("--data \(data):\(line.number): needs \"instruction\" and \"output\" strings")
      }
      if let s = PrecisionComparison.sequence(model: reference, instruction: l.instruction, answer: l.output, maxTokens: maxTokens) {
        sequences.append(s)
      }
    }
    guard !sequences.isEmpty else { throw CLIError("--data \(data): no example with an answer") }
    let comparison = try PrecisionComparison(
      reference: reference, candidate: candidate, sequences: sequences, layer: layer, seed: seed)
    print(
      try JSONText.encode(
        PrecisionReport(comparison: comparison, compute: candidate.computePrecision, model: reference.path, examples: sequences.count)))
  }
}

/// `precision`'s output: the comparison's fields, and what was compared on which model.
struct PrecisionReport: Encodable {
  var comparison: PrecisionComparison
  var compute: ComputePrecision
  var model: String
  var examples: Int

  enum CodingKeys: String, CodingKey { case compute, model, examples }

  /// One flat object: the comparison's own keys beside these.
  func encode(to encoder: any Encoder) throws {
    try comparison.encode(to: encoder)
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(compute.rawValue, forKey: .compute)
    try c.encode(model, forKey: .model)
    try c.encode(examples, forKey: .examples)
  }
}
