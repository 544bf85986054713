import ArgumentParser
import CLICommon
import Embedding
import Foundation
import Judges
import LM
import PSR
import Steering
import Store

public struct TuneAlpha: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "tune-alpha",
    abstract: "Choose a steering file's strength α on held-out examples and store it in the file.",
    discussion: """
      Factor-grid selection (AxBench's 14 factors by default): for each factor f, the file's α·f steers the \
      model on held-out (instruction, prompted response) pairs of a capture, and the factor with the lowest \
      NLL of those responses given the unprompted instruction wins. The file's α is multiplied by it.
      With --target-coherence C, the factor is instead bisected on the embedded judge's mean coherence \
      (0–100) of steered answers to the held-out instructions, as compare's TA@Cp is: the largest factor \
      tried whose coherence reaches C wins, else the one closest to C.

      Examples:
        psr tune-alpha --steer pirate.psr --data run.h5
        psr tune-alpha --steer pirate.psr --data run.h5 --factors 0.5,1,2,4 --examples 16 --dry-run
        psr tune-alpha --steer pirate.psr --data run.h5 --target-coherence 80
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "Steering file to tune (rewritten in place unless --dry-run).") var steer: String
  @Option(help: "Capture whose examples are scored.") var data: String
  @Option(help: "Comma-separated factors (default: AxBench's 14).") var factors: String?
  @Option(help: "Use the last N examples of the capture (held out from fitting by default split order).") var examples = 16
  @Flag(help: "Print the choice without rewriting the file.") var dryRun = false
  @Option(help: "Bisect the factor to this judged coherence (0–100) instead of the NLL grid.") var targetCoherence: Double?
  @Option(help: "Bisection steps.") var steps = 6
  @Option(help: "Largest factor tried by the bisection.") var maxFactor: Float = 8
  @Option(help: "Judge calibration.") var calibration = "judges/calibration.json"
  @Option(help: "Sentence-encoder directory.") var encoder = "models/all-minilm-l6-v2"
  @Flag(help: "Print one JSON object.") var json = false

  private func factorGrid() throws -> [Float] {
    try factors.map { text in
      try Check.list(text, "--factors", expecting: "a finite non-negative number") { part in
        Float(part).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
      }
    } ?? FactorSelection.axbenchFactors
  }

  public func validate() throws {
    _ = try factorGrid()
    try Check.within(examples, 1...1_000_000, "--examples")
    try Check.within(steps, 1...64, "--steps")
    try Check.finite(maxFactor, "--max-factor", in: Float.leastNonzeroMagnitude...1_000)
    try Check.finite(targetCoherence, "--target-coherence", in: 0...100)
  }

  public func run() throws {
    let model = try modelOptions.load()
    if ControlVectorImport.isGGUF(steer) && !dryRun {
      throw CLIError(
        "\(steer) is a control vector (GGUF), which tune-alpha cannot rewrite; import it first (psr sv import \(steer) --out FILE.json) or pass --dry-run"
      )
    }
    var file = try SteeringFile.load(steer, for: model)
    let reader = try ActivationReader(path: data)
    guard reader.exampleCount > 0 else { throw CLIError("\(data) holds no complete example to score") }
    let grid = try factorGrid()
    let chosen = max(0, reader.exampleCount - examples)..<reader.exampleCount
    let sequences = try reader.teacherForcedSequences(model: model, examples: chosen).filter { !$0.response.isEmpty }
    if let targetCoherence {
      try bisect(model: model, file: &file, instructions: try reader.instructions(chosen), target: targetCoherence)
      return
    }
    let (best, losses) = try FactorSelection(model: model, file: file).select(sequences, factors: grid) { f, loss in
      if !json { log(String(format: "factor %.2f  held-out NLL %.4f", f, loss)) }
    }
    file.training["alpha_selected_factor"] = .number(Double(best))
    file.alpha *= best
    if !dryRun { try file.save(steer) }
    if json {
      print(
        try JSONText.encode(
          AlphaChoice(
            bestFactor: Double(best), alpha: Double(file.alpha),
            losses: losses.map { AlphaChoice.FactorLoss(factor: Double($0.factor), nll: Double($0.loss)) })))
    } else {
      print(String(format: "best factor %.2f → alpha %.3f%@", best, file.alpha, dryRun ? " (dry run)" : " stored in \(steer)"))
      log("peak RSS \(peakResidentMegabytes()) MB")
    }
  }

  /// Matches the factor to the judged coherence target by ``CoherenceBisection``.
  private func bisect(model: DecoderModel, file: inout SteeringFile, instructions: [String], target: Double) throws {
    let judge = EmbeddedJudge(
      encoder: try SentenceEncoder(directory: resolvePath(encoder)), model: model,
      calibration: try JudgeCalibration.load(resolvePath(calibration)))
    let prompts = instructions.map { model.chatPrompt(user: $0) }
    func coherence(_ factor: Float) throws -> Double {
      let g = try model.generate(
        prompts: prompts, options: GenerationOptions(maxNewTokens: 64, sampling: SamplingParameters(temperature: 1, seed: 0)),
        intervention: try file.intervention(for: model, factor: factor, file: steer))
      let pairs = zip(instructions, g).map { ($0, model.tokenizer.decode($1.ids, skipSpecial: true)) }
      let p = try judge.fluencyProbabilities(pairs)
      return 100 * p.reduce(0, +) / Double(max(1, p.count))
    }
    typealias Tried = (factor: Float, coherence: Double)
    let (best, _) = try CoherenceBisection.search(
      target: target, maxFactor: maxFactor, steps: steps, tried: [(0, try coherence(0))] as [Tried], factor: \.factor,
      coherence: \.coherence
    ) { factor -> Tried in
      let c = try coherence(factor)
      if !json { log(String(format: "factor %.3f  coherence %.1f", factor, c)) }
      return (factor, c)
    }
    file.training["alpha_selected_factor"] = .number(Double(best.factor))
    file.training["alpha_target_coherence"] = .number(target)
    file.alpha *= best.factor
    if !dryRun { try file.save(steer) }
    if json {
      print(try JSONText.encode(AlphaChoice(bestFactor: Double(best.factor), alpha: Double(file.alpha), coherence: best.coherence)))
    } else {
      let kept = best.coherence >= target ? "keeps coherence %.1f ≥ %.1f" : "comes closest, at coherence %.1f (target %.1f)"
      print(String(format: "factor %.3f \(kept) → alpha %.3f", best.factor, best.coherence, target, file.alpha))
      log("peak RSS \(peakResidentMegabytes()) MB")
    }
  }
}

/// `tune-alpha --json`: the factor chosen and the new α, with the held-out NLL of every factor
/// tried (`--by nll`) or the judged coherence of the chosen one (`--by coherence`).
struct AlphaChoice: Encodable {
  struct FactorLoss: Encodable {
    var factor, nll: Double
  }
  var bestFactor, alpha: Double
  var losses: [FactorLoss]?
  var coherence: Double?
}
