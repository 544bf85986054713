import ArgumentParser
import CLICommon
import Foundation
import LM
import Steering
import Tensor

public struct Generate: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Generate a continuation of a chat prompt, optionally steered.",
    discussion: """
      Examples:
        psr generate --prompt "Tell me about the moon."
        psr generate --prompt "Hi" --temperature 0.8 --seed 7 --max-tokens 64
        psr generate --raw --prompt "<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n" --json --logprobs 5
        psr generate --prompt "Describe a city." --steer rental.prosv.json --factor 1.5
        psr generate --prompt "Describe a city." --steer examples/evil.cvec.gguf --factor 2   # llama.cpp --control-vector-scaled evil.cvec.gguf 2
        psr generate --prompt "Describe a city." --steer-vector examples/evil-direction.json --steer-layer 15 --steer-alpha 4
        psr generate --prompt "Describe rain." --steer out/small/units/axbench-0/prosv.json --factor 2 \\
          --temperature 1 --seed 1234 --stream 1 --max-tokens 32   # replays a compare generation (generations.jsonl)
      """)

  @OptionGroup public var modelOptions: ModelOptions
  @Option(help: "The user message (or, with --raw, the whole rendered prompt).") var prompt: String
  @Option(help: "A system message; without it the template's default system message is used.") var system: String?
  @Flag(help: "Treat --prompt as already rendered text and parse control tokens in it.") var raw = false
  @Option(help: "Tokens to generate at most.") var maxTokens = 128
  @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0
  @Option(help: "Keep the k most likely tokens (0: all).") var topK = 0
  @Option(help: "Nucleus sampling mass (1: off).") var topP: Float = 1
  @Option(help: "Random seed.") var seed: UInt64 = 0
  @Option(
    help:
      "The seed's random stream to sample from: `compare` samples its i-th instruction from stream i, so a line of generations.jsonl is replayed with its seed and stream."
  ) public var stream = 0
  @Flag(help: "Print one JSON object: prompt_ids, ids, text (and top with --logprobs).") var json = false
  @Option(help: "With --json, the k best log-probabilities per generated token.") var logprobs = 0
  @Option(help: "A steering file (from psr sv train, psr fit, …) or a llama.cpp/repeng control vector (GGUF) to steer with.") var steer:
    String?
  @Option(help: "Multiplies the steering file's α.") var factor: Float = 1
  @Option(help: "A JSON file holding an array of floats to add to the residual stream.") var steerVector: String?
  @Option(help: "Layer (0-based block output) for --steer-vector.") var steerLayer = 15
  @Option(help: "Factor α for --steer-vector.") var steerAlpha: Float = 1
  @Option(help: "Positions for --steer-vector: all, response, pN+sM.") var steerPositions = "all"

  public func validate() throws {
    try Check.within(maxTokens, 0...(1 << 20), "--max-tokens")
    try Check.finite(temperature, "--temperature", in: 0...100)
    try Check.atLeast(topK, 0, "--top-k")
    try Check.within(stream, 0...(1 << 30), "--stream")
    if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
    try Check.finite(factor, "--factor")
    try Check.finite(steerAlpha, "--steer-alpha")
    try Check.atLeast(steerLayer, 0, "--steer-layer")
    do { _ = try PositionSet(parsing: steerPositions) } catch { throw ValidationError("--steer-positions: \(error)") }
    if logprobs < 0 || logprobs > 100 { throw ValidationError("--logprobs must be in 0...100") }
    if prompt.isEmpty { throw ValidationError("--prompt is empty") }
    if steer != nil && steerVector != nil { throw ValidationError("use --steer or --steer-vector, not both") }
  }

  /// The rendered prompt with the model's BOS first where its tokenizer adds one, but not twice
  /// when the prompt already starts with it.
  private func rawPrompt(_ tokenizer: any Tokenizer) -> [Int] {
    let ids = tokenizer.encode(prompt, parseSpecial: true)
    return ids.first == tokenizer.beginOfSequence ? ids : tokenizer.encodeDocument(prompt, parseSpecial: true)
  }

  public func run() throws {
    let model = try modelOptions.load(automaticCompute: automaticCompute)
    let ids = raw ? rawPrompt(model.tokenizer) : model.chatPrompt(user: prompt, system: system)
    guard ids.count + maxTokens <= model.configuration.contextLength else {
      throw CLIError(
        "the prompt (\(ids.count) tokens) and --max-tokens \(maxTokens) exceed the model's context of \(model.configuration.contextLength)")
    }
    let intervention = try steering(model)
    let options = GenerationOptions(
      maxNewTokens: maxTokens, sampling: SamplingParameters(temperature: temperature, topK: topK, topP: topP, seed: seed),
      logProbabilities: logprobs)
    let result = try model.generate(prompts: [ids], options: options, perSequence: [intervention], streams: [stream])[0]
    let text = model.tokenizer.decode(result.ids, skipSpecial: true)
    if json {
      let output = GeneratedText(
        promptIds: ids, ids: result.ids, text: text, finishReason: result.finishReason.rawValue,
        top: logprobs > 0 ? result.topLogProbabilities.map { $0.map { GeneratedText.Candidate(id: $0.id, logProbability: $0.logProbability) } } : nil)
      print(try JSONText.encode(output))
    } else {
      print(text)
    }
  }

  /// What `--compute auto` runs: the precision a `--steer` file records it was trained with, so
  /// that its generations replay those of `compare` or `sv train` token for token; else what
  /// measured fastest on the model's weight type (``DecoderModel/automaticTextCompute(path:)``: the
  /// output is text only). A file that cannot be read here is reported by `steering(_:)`.
  private var automaticCompute: ComputePrecision {
    guard let steer, !ControlVectorImport.isGGUF(steer), let file = try? SteeringFile.load(steer),
      case .string(let recorded)? = file.training["compute"], let precision = ComputePrecision(rawValue: recorded)
    else { return modelOptions.textCompute }
    return precision
  }

  private func steering(_ model: DecoderModel) throws -> (any Intervention)? {
    if let steer {
      do {
        return try SteeringFile.load(steer, for: model).intervention(for: model, factor: factor, file: steer)
      } catch let error as CustomStringConvertible {
        throw CLIError("\(error)")
      }
    }
    guard let steerVector else { return nil }
    guard let data = FileManager.default.contents(atPath: steerVector) else { throw CLIError("cannot read \(steerVector)") }
    guard let vector = try? JSONDecoder().decode([Float].self, from: data), vector.allSatisfy(\.isFinite) else {
      throw CLIError("\(steerVector) is not a JSON array of finite numbers")
    }
    let d = model.configuration.modelDimension
    guard vector.count == d else { throw CLIError("\(steerVector) holds \(vector.count) values; the model needs \(d)") }
    guard (0..<model.configuration.layerCount).contains(steerLayer) else {
      throw CLIError("--steer-layer \(steerLayer) is outside 0..<\(model.configuration.layerCount)")
    }
    return AdditiveVector(layer: steerLayer, alpha: steerAlpha, vector: vector, positions: try PositionSet(parsing: steerPositions))
  }
}

/// `generate --json`: the prompt's ids, the generated ids and text, why it stopped, and with
/// `--logprobs K` the K most likely tokens of every step.
struct GeneratedText: Encodable {
  /// One candidate token, written as the pair [id, log-probability].
  struct Candidate: Encodable {
    var id: Int
    var logProbability: Float

    func encode(to encoder: any Encoder) throws {
      var c = encoder.unkeyedContainer()
      try c.encode(id)
      try c.encode(Double(logProbability))
    }
  }
  var promptIds, ids: [Int]
  var text, finishReason: String
  var top: [[Candidate]]?
}
