import ArgumentParser
import CLICommon
import Embedding
import Foundation
import Judges
import LM

public struct Calibrate: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Fit the embedded judge's calibration and print its held-out AUROC and accuracy.",
    discussion: """
      Concept thresholds come from concept10_2b_l20_train (positives vs negatives) and are measured on \
      concept10_2b_l20_eval (including hard negatives); instruction relevance from AlpacaEval GPT-4 answers \
      matched vs shuffled; fluency from real vs corrupted answers scored by the LM; persona from the LM's \
      answers under pos vs neg prompts. Writes a versioned calibration file to commit with the project.

      Example:
        compare calibrate --out calibration.json   # judges/calibration.json is the one shipped
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "Directory with the sentence encoder.") var encoder = "models/all-minilm-l6-v2"
  @Option(help: "Benchmark data directory.") var data = "experiments/data"
  @Option(help: "Where to write the calibration.") var out = "judges/calibration.json"

  public func run() throws {
    let model = try modelOptions.load()
    let encoder = try SentenceEncoder(directory: JudgeOptions.resolve(self.encoder))
    var calibrator = Calibrator(encoder: encoder, model: model, dataDirectory: JudgeOptions.resolve(data))
    calibrator.log = { log($0) }
    let calibration = try calibrator.calibrate()
    try calibration.save(out)
    for (k, v) in calibration.metrics.sorted(by: { $0.key < $1.key }) {
      print(k.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: "%.3f", v))
    }
    print("wrote \(out)")
  }
}
