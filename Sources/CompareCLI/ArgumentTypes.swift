import ArgumentParser
import CLICommon
import Compare
import PSR

// The typed values of compare's options: a bad one is refused by the parser, naming the choices.

/// `--bench`.
enum Benchmark: String, CaseIterable, ExpressibleByArgument {
  case axbench, persona, ifeval
}

/// `--budget`: the presets of BenchConfig.
enum Budget: String, CaseIterable, ExpressibleByArgument {
  case small, paper
}

/// `--judge`.
enum JudgeKind: String, CaseIterable, ExpressibleByArgument {
  case embedded, openai
}

extension BenchMethod: ExpressibleByArgument {}
extension PSRObjective: ExpressibleByArgument {}
