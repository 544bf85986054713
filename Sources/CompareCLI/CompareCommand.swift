import ArgumentParser

@main
struct CompareCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Benchmark PSR against PrOSV, FSSV, DiffMean and prompting, and judge generations.",
    subcommands: [JudgeFile.self, Calibrate.self],
    defaultSubcommand: JudgeFile.self)
}
