import ArgumentParser
import CLICommon
import LM


public struct PSR: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "psr",
    abstract: "Steer a language model: generate, tokenize and benchmark with activation interventions.",
    discussion: """
      The model defaults to models/SmolLM2-135M-Instruct.Q4_1.gguf (fetched by scripts/setup.sh); \
      set PSR_MODEL or pass --model to use another: a GGUF file, or a Hugging Face model directory \
      (config.json and safetensors) of the \(ModelFamily.supportedList) families.
      """,
    subcommands: [
      Generate.self, Tokenize.self, SteeringVectorCommand.self, Fit.self, TuneAlpha.self, Inspect.self, Export.self, ReportCommand.self,
      Serve.self, Bench.self, PrecisionCheck.self,
    ])
}

extension PSR {
  /// `--x -1` reaches the option's check as `--x=-1` would.
  public static func main() { main(joiningNegativeValues(Array(CommandLine.arguments.dropFirst()))) }
}
