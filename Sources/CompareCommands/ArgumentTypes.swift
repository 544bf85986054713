import ArgumentParser
import CLICommon
import Compare
import PSR

// The typed values of compare's options: a bad one is refused by the parser, naming the choices.

/// `--bench`.
extension Benchmark: ExpressibleByArgument {}

/// `--budget`: the presets of BenchConfig.
public enum Budget: String, CaseIterable, Sendable, ExpressibleByArgument {
  case small, paper
}

/// `--judge`.
public enum JudgeKind: String, CaseIterable, Sendable, ExpressibleByArgument {
  case embedded, openai
}

extension BenchMethod: ExpressibleByArgument {}
extension PSRObjective: ExpressibleByArgument {}
