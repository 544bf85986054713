import ArgumentParser

@main
struct CompareCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Benchmark PSR against PrOSV, FSSV, DiffMean and prompting, and judge generations.",
    subcommands: [Run.self, JudgeFile.self, Calibrate.self, Merge.self],
    defaultSubcommand: Run.self)
}
