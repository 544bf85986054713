import ArgumentParser
import CLICommon


public struct CompareCommand: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Benchmark PSR against PrOSV, FSSV, DiffMean and prompting, and judge generations.",
    subcommands: [Run.self, JudgeFile.self, Calibrate.self, Merge.self],
    defaultSubcommand: Run.self)
}

extension CompareCommand {
  /// `--x -1` reaches the option's check as `--x=-1` would.
  public static func main() { main(joiningNegativeValues(Array(CommandLine.arguments.dropFirst()))) }
}
