import ArgumentParser
import CLICommon
import Foundation
import Steering

public struct Inspect: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Summarise a steering file: kind, model, layers, α and vector norms, training record.",
    discussion: "Example:\n  psr inspect rental.prosv.json")

  @Argument(help: "Steering file.") var file: String
  @Flag(help: "Print the summary as one JSON object.") var json = false

  public func run() throws {
    let f = try SteeringFile.load(file)
    let summary = SteeringSummary(f)
    if json {
      print(try JSONText.encode(summary))
      return
    }
    print("\(file): \(f.kind.rawValue) steering, format \(f.format) v\(f.formatVersion), created \(f.created)")
    print("model: \(f.model.name) (sha256 \(f.model.sha256.prefix(16))…, \(f.model.layerCount) layers, d=\(f.model.modelDimension))")
    print("global alpha: \(f.alpha)")
    for v in summary.vectors { print("vector: layer \(v.layer), positions \(v.positions), alpha \(v.alpha), |v| \(v.norm)") }
    for g in summary.gates { print("gate: layer \(g.layer), bias \(g.bias), |w| \(g.weightNorm), |z| \(g.directionNorm)") }
    for p in summary.projections { print("projection: layer \(p.layer), positions \(p.positions), target \(p.target)") }
    for (k, v) in f.training.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
  }
}

/// `inspect --json`: a steering file without its vectors, their norms in their place.
struct SteeringSummary: Encodable {
  struct Vector: Encodable {
    var layer: Int, positions: String
    var alpha, norm: Double
  }
  struct Gate: Encodable {
    var layer: Int
    var bias, weightNorm, directionNorm: Double
  }
  struct Projection: Encodable {
    var layer: Int, positions: String
    var target, directionNorm: Double
  }
  var kind, model, modelSha256, created: String
  var formatVersion: Int, alpha: Double
  var vectors: [Vector], gates: [Gate], projections: [Projection]
  /// The training record's values as text.
  var training: [String: String]

  init(_ f: SteeringFile) {
    func norm(_ v: [Float]) -> Double { Double(v.reduce(0) { $0 + $1 * $1 }.squareRoot()) }
    kind = f.kind.rawValue
    formatVersion = f.formatVersion
    model = f.model.name
    modelSha256 = f.model.sha256
    alpha = Double(f.alpha)
    vectors = f.vectors.map { Vector(layer: $0.layer, positions: $0.positions.description, alpha: Double($0.alpha), norm: norm($0.vector)) }
    gates = f.gates.map {
      Gate(layer: $0.layer, bias: Double($0.bias), weightNorm: norm($0.weight), directionNorm: norm($0.direction))
    }
    projections = (f.projections ?? []).map {
      Projection(layer: $0.layer, positions: $0.positions.description, target: Double($0.target), directionNorm: norm($0.direction))
    }
    training = f.training.mapValues { $0.description }
    created = f.created
  }
}
