import ArgumentParser
import CLICommon
import Capture
import Foundation
import LM
import Store

/// Set by SIGINT: the capture stops after the batch in flight and keeps a valid file.
nonisolated(unsafe) var interrupted: sig_atomic_t = 0


public struct CaptureCommand: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "capture",
    abstract: "Run prompted and unprompted passes over the same responses and write per-token activation deltas to HDF5.",
    discussion: """
      For each instruction x, the steering prompt P gives x′ (P as system message, or as a prefix of the user \
      turn: "{P}\\n\\nQuestion: {x}"). A response y′ is sampled from the prompted model (or taken from the \
      input's output field), then teacher-forced after x′ and after x. At every token of y′ and every layer, \
      base = h(x y′) and delta = h(x′ y′) − h(x y′) are written (schema: docs/DESIGN.md).

      The file is written as OUT.partial and renamed when complete; Ctrl-C stops after the current batch \
      and keeps the complete examples. --resume continues an interrupted run with the same options.

      Examples:
        capture --prompt-file examples/pirate.txt --inputs examples/questions.txt --layers 10,15 --out run.h5
        capture --prompt-file examples/pirate.txt --inputs examples/questions.txt --all-layers --float16 --gzip 4 --out all.h5
        capture --prompt-file examples/pirate.txt --inputs examples/questions.txt --layers 10,15 --out run.h5 --resume
        capture --prompt-file experiments/data/persona/evil_extract.json \
            --inputs experiments/data/persona/evil_extract.json --layers 15 --out persona.h5
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "Text file holding the steering prompt P (or a persona trait JSON: its pos instruction).") var promptFile: String?
  @Option(help: "Use AxBench's steering template for this concept as P (instead of --prompt-file).") var concept: String?
  @Flag(help: "Sample responses even for inputs that carry an output field.") var ignoreOutputs = false
  @Option(help: "Use at most this many inputs (the first ones).") var limit: Int?
  @Option(help: "With a persona trait file, which instruction pair's pos text is P.") var personaPair = 0
  @Option(
    help:
      "Instructions: JSON Lines with instruction (and optional output), one instruction per line, or a persona trait JSON (its questions).")
  var inputs: String
  @Option(help: "Layers to record, comma-separated (0-based block outputs).") var layers: String?
  @Flag(help: "Record every layer.") var allLayers = false
  @Option(help: "Output HDF5 file.") var out: String
  @Option(help: "Where P goes: system (the system message), prefix (\"{P}\\n\\nQuestion: {x}\", AxBench) or suffix (\"{x} {P}\", as IFEval appends instructions).") public var promptPosition = PromptPosition.prefix
  @Option(help: "Responses sampled per instruction (when the input has no output).") var samples = 1
  @Option(help: "Response tokens at most.") var maxNewTokens = 128
  @Option(help: "Sampling temperature for responses.") var temperature: Float = 1
  @Option(help: "Random seed.") var seed: UInt64 = 0
  @Option(help: "Examples per batched pass (at most; fewer when --memory-budget requires).") var batchSize = 8
  @OptionGroup var memory: MemoryBudgetOption
  @Flag(help: "Store activations as float16.") var float16 = false
  @Option(help: "gzip level 1-9 for the activation datasets.") var gzip: Int?
  @Flag(help: "Continue an interrupted capture of the same options.") var resume = false
  @Flag(help: "Replace an existing output file.") var overwrite = false
  @Flag(help: "Stop at the first malformed input line instead of skipping it.") var strict = false
  @Flag(help: "Print the final summary as one JSON object.") var json = false

  public func validate() throws {
    try Check.outputFile(out, "--out")
    if (promptFile == nil) == (concept == nil) { throw ValidationError("pass --prompt-file FILE or --concept TEXT") }
    if layers == nil && !allLayers { throw ValidationError("pass --layers L,… or --all-layers") }
    if layers != nil && allLayers { throw ValidationError("pass --layers or --all-layers, not both") }
    if let layers { _ = try Check.integers(layers, "--layers") }
    try Check.atLeast(samples, 1, "--samples")
    try Check.within(maxNewTokens, 1...(1 << 20), "--max-new-tokens")
    try Check.within(batchSize, 1...4096, "--batch-size")
    try Check.atLeast(limit, 1, "--limit")
    try Check.atLeast(personaPair, 0, "--persona-pair")
    try Check.finite(temperature, "--temperature", in: 0...100)
    try Check.within(gzip, 1...9, "--gzip")
    if let concept, concept.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--concept is empty") }
    if resume && overwrite { throw ValidationError("--resume and --overwrite exclude each other") }
  }

  public func run() throws {
    do {
      try capture()
    } catch let error as CaptureError {
      throw CLIError(error.description)
    } catch let error as StoreError {
      throw CLIError(error.description)
    }
  }

  private func capture() throws {
    let prompt =
      try concept.map { SteeringPrompts.axbench(concept: $0) } ?? InputFile.readPrompt(promptFile!, pair: personaPair)
    var (inputs, problems) = try InputFile.read(self.inputs, strict: strict)
    if ignoreOutputs { inputs = inputs.map { CaptureInput(instruction: $0.instruction) } }
    if let limit { inputs = Array(inputs.prefix(limit)) }
    for p in problems { log("\(self.inputs): skipped \(p)") }
    let model = try modelOptions.load()
    let layerList = allLayers ? Array(0..<model.configuration.layerCount) : Array(Set(try Check.integers(layers!, "--layers"))).sorted()
    for l in layerList where l >= model.configuration.layerCount {
      throw CLIError("--layers: layer \(l) does not exist; the model has layers 0...\(model.configuration.layerCount - 1)")
    }
    guard maxNewTokens < model.configuration.contextLength else {
      throw CLIError("--max-new-tokens \(maxNewTokens) does not fit the model's context of \(model.configuration.contextLength) tokens")
    }
    let options = CaptureOptions(
      steeringPrompt: prompt, promptPosition: promptPosition, layers: layerList, samples: samples,
      maxNewTokens: maxNewTokens, temperature: temperature, seed: seed,
      batchSize: try fittingBatch(model: model, prompt: prompt, inputs: inputs, layers: layerList.count))
    let capture = try ActivationCapture(model: model, options: options)
    var header = try capture.header(toolVersion: "psr-steering 0.1")
    header.storage = float16 ? "float16" : "float32"
    let writer = try openWriter(header: header)
    let total = capture.plan(inputs).count
    let resumed = writer.exampleCount
    if resumed > 0 { log("resuming after \(resumed) of \(total) examples") }
    signal(SIGINT) { _ in interrupted = 1 }
    let bar = ProgressBar(total: total, label: "capture")
    try capture.run(inputs, into: writer, shouldStop: { interrupted != 0 }) { p in
      bar.update(p.examplesDone, resumed: resumed, String(format: "examples  %d tokens  %.0f tok/s", p.tokensDone, p.tokensPerSecond))
    }
    bar.finish()
    let complete = writer.exampleCount == total
    try writer.close()
    if !complete {
      log("interrupted: \(partialPath) holds \(writer.exampleCount) complete examples; rerun with --resume to finish")
      throw ExitCode(130)
    }
    try? FileManager.default.removeItem(atPath: out)
    try FileManager.default.moveItem(atPath: partialPath, toPath: out)
    try summarize()
  }

  /// `--batch-size`, or fewer examples where the longest one's two passes would not fit the
  /// memory budget beside the weights.
  private func fittingBatch(model: DecoderModel, prompt: String, inputs: [CaptureInput], layers: Int) throws -> Int {
    let longest =
      inputs.map { input in
        let prompted = model.promptPair(instruction: input.instruction, steeringPrompt: prompt, position: promptPosition).prompted
        let response = input.output.map { min(maxNewTokens, model.tokenizer.encode($0, parseSpecial: false).count) } ?? maxNewTokens
        return prompted.count + response
      }.max() ?? 0
    let budget = memory.bytes
    guard let batch = model.batchSize(requested: batchSize, budget: budget, tokens: longest, sequences: 2, recordedLayers: layers) else {
      let each = 2 * model.bytesPerSequence(tokens: longest, recordedLayers: layers)
      throw CLIError(
        "--memory-budget \(MemoryBudgetOption.describe(budget)) does not fit one example: the weights hold \(MemoryBudgetOption.describe(model.weightBytes)) and the longest example (\(longest) tokens, \(layers) recorded layers) needs \(MemoryBudgetOption.describe(each)); raise the budget, lower --max-new-tokens or record fewer layers"
      )
    }
    if batch < batchSize {
      log("memory budget \(MemoryBudgetOption.describe(budget)): batches of \(batch) examples instead of \(batchSize)")
    }
    return batch
  }

  private var partialPath: String { out + ".partial" }

  private func openWriter(header: ActivationHeader) throws -> ActivationWriter {
    let fm = FileManager.default
    if overwrite {
      try? fm.removeItem(atPath: out)
      try? fm.removeItem(atPath: partialPath)
    }
    if resume {
      if !fm.fileExists(atPath: partialPath) && fm.fileExists(atPath: out) { try fm.moveItem(atPath: out, toPath: partialPath) }
      if fm.fileExists(atPath: partialPath) { return try ActivationWriter.resume(path: partialPath, expecting: header) }
    } else if fm.fileExists(atPath: out) || fm.fileExists(atPath: partialPath) {
      throw StoreError.exists(path: fm.fileExists(atPath: out) ? out : partialPath)
    }
    return try ActivationWriter.create(
      path: partialPath, header: header, options: StorageOptions(float16: float16, gzip: gzip))
  }

  /// Examples, tokens, mean ‖Δ‖ per layer and file size.
  private func summarize() throws {
    let reader = try ActivationReader(path: out)
    let d = reader.header.modelDimension
    var meanNorm: [String: Double] = [:]
    for l in reader.header.layers {
      var sum = 0.0
      var start = 0
      while start < reader.tokenCount {
        let end = min(reader.tokenCount, start + 4096)
        let delta = try reader.delta(layer: l, rows: start..<end)
        for r in 0..<(end - start) {
          var s: Float = 0
          for i in 0..<d { s += delta[r * d + i] * delta[r * d + i] }
          sum += Double(s.squareRoot())
        }
        start = end
      }
      meanNorm[String(l)] = reader.tokenCount > 0 ? sum / Double(reader.tokenCount) : 0
    }
    let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
    if json {
      print(
        try JSONText.encode(
          CaptureSummary(
            examples: reader.exampleCount, tokens: reader.tokenCount, meanDeltaNorm: meanNorm, fileBytes: size, path: out)))
    } else {
      print(
        "wrote \(out): \(reader.exampleCount) examples, \(reader.tokenCount) tokens, \(size / 1024) KiB; peak RSS \(peakResidentMegabytes()) MB"
      )
      for l in reader.header.layers { print(String(format: "  layer %2d  mean |delta| %.3f", l, meanNorm[String(l)]!)) }
    }
  }
}

extension CaptureCommand {
  /// `--x -1` reaches the option's check as `--x=-1` would.
  public static func main() { main(joiningNegativeValues(Array(CommandLine.arguments.dropFirst()))) }
}

extension PromptPosition: ExpressibleByArgument {}

/// `capture --json`: what was written.
struct CaptureSummary: Encodable {
  var examples, tokens: Int
  /// Per layer (its number as the key), the mean L2 norm of the per-token deltas.
  var meanDeltaNorm: [String: Double]
  var fileBytes: Int
  var path: String
}
