import ArgumentParser
import CLICommon
import Foundation
import LM
import PSR
import Steering
import Store

struct TuneAlpha: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tune-alpha",
    abstract: "Choose a steering file's strength α on held-out examples and store it in the file.",
    discussion: """
      Factor-grid selection (AxBench's 14 factors by default): for each factor f, the file's α·f steers the
      model on held-out (instruction, prompted response) pairs of a capture, and the factor with the lowest
      NLL of those responses given the unprompted instruction wins. The file's α is multiplied by it.
      (Selection by a judge's coherence target comes with the compare command's judges.)

      Examples:
        psr tune-alpha --steer pirate.psr --data run.h5
        psr tune-alpha --steer pirate.psr --data run.h5 --factors 0.5,1,2,4 --examples 16 --dry-run
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "Steering file to tune (rewritten in place unless --dry-run).") var steer: String
  @Option(help: "Capture whose examples are scored.") var data: String
  @Option(help: "Comma-separated factors (default: AxBench's 14).") var factors: String?
  @Option(help: "Use the last N examples of the capture (held out from fitting by default split order).") var examples = 16
  @Flag(help: "Print the choice without rewriting the file.") var dryRun = false
  @Flag(help: "Print one JSON object.") var json = false

  func run() throws {
    let model = try modelOptions.load()
    var file = try SteeringFile.load(steer)
    let reader = try ActivationReader(path: data)
    let grid = try factors.map { text in
      try text.split(separator: ",").map { part -> Float in
        guard let f = Float(part.trimmingCharacters(in: .whitespaces)), f >= 0 else { throw ValidationError("--factors: '\(part)' is not a non-negative number") }
        return f
      }
    } ?? FactorSelection.axbenchFactors
    let instructions = try reader.instructions()
    let tokens = try reader.tokens()
    let chosen = max(0, reader.exampleCount - examples)..<reader.exampleCount
    let sequences = chosen.map { e in
      TeacherForcedSequence(
        prompt: model.chatPrompt(user: instructions[e]),
        response: tokens[reader.tokenOffsets[e]..<reader.tokenOffsets[e + 1]].map(Int.init))
    }.filter { !$0.response.isEmpty }
    let (best, losses) = try FactorSelection(model: model, file: file).select(sequences, factors: grid) { f, loss in
      if !json { log(String(format: "factor %.2f  held-out NLL %.4f", f, loss)) }
    }
    file.training["alpha_selected_factor"] = .number(Double(best))
    file.alpha *= best
    if !dryRun { try file.save(steer) }
    if json {
      print(try JSONText.encode([
        "best_factor": Double(best), "alpha": Double(file.alpha),
        "losses": losses.map { ["factor": Double($0.factor), "nll": Double($0.loss)] },
      ]))
    } else {
      print(String(format: "best factor %.2f → alpha %.3f%@", best, file.alpha, dryRun ? " (dry run)" : " stored in \(steer)"))
    }
  }
}
