import ArgumentParser
import CLICommon
import PSR
import Steering

// The typed values of psr's options: a bad one is refused by the parser, naming the choices.

extension PSRObjective: ExpressibleByArgument {}

/// `sv train --kind`: the steering vectors that train by gradient.
public enum TrainableKind: String, CaseIterable, Sendable, ExpressibleByArgument {
  case fssv, prosv
  var steeringKind: SteeringKind { self == .prosv ? .prosv : .fssv }
}

extension SteeringObjective: ExpressibleByArgument {}

/// `fit --variant`: one layer from the file, or all chosen layers through the model.
public enum FitVariant: String, CaseIterable, Sendable, ExpressibleByArgument {
  case single, all
}

/// `export --format`.
public enum ExportFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
  case gguf, safetensors
}

/// `bench --only`: the figures bench can measure.
public enum BenchFigure: String, CaseIterable, Sendable, ExpressibleByArgument {
  case prefill, decode, batch16, batch64, train, capture, score, psr
}

extension PositionSet: ExpressibleByArgument {
  public init?(argument: String) { try? self.init(parsing: argument) }
  public var defaultValueDescription: String { description }
}
