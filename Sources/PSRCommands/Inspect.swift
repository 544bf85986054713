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
    func norm(_ v: [Float]) -> Double { Double(v.reduce(0) { $0 + $1 * $1 }.squareRoot()) }
    let vectors: [[String: Any]] = f.vectors.map {
      ["layer": $0.layer, "positions": $0.positions.description, "alpha": Double($0.alpha), "norm": norm($0.vector)]
    }
    let gates: [[String: Any]] = f.gates.map {
      ["layer": $0.layer, "bias": Double($0.bias), "weight_norm": norm($0.weight), "direction_norm": norm($0.direction)]
    }
    let projections: [[String: Any]] = (f.projections ?? []).map {
      ["layer": $0.layer, "positions": $0.positions.description, "target": Double($0.target), "direction_norm": norm($0.direction)]
    }
    if json {
      let object: [String: Any] = [
        "kind": f.kind.rawValue, "format_version": f.formatVersion, "model": f.model.name, "model_sha256": f.model.sha256,
        "alpha": Double(f.alpha), "vectors": vectors, "gates": gates, "projections": projections,
        "training": f.training.mapValues { $0.description }, "created": f.created,
      ]
      print(try JSONText.encode(object))
      return
    }
    print("\(file): \(f.kind.rawValue) steering, format \(f.format) v\(f.formatVersion), created \(f.created)")
    print("model: \(f.model.name) (sha256 \(f.model.sha256.prefix(16))…, \(f.model.layerCount) layers, d=\(f.model.modelDimension))")
    print("global alpha: \(f.alpha)")
    for v in vectors { print("vector: layer \(v["layer"]!), positions \(v["positions"]!), alpha \(v["alpha"]!), |v| \(v["norm"]!)") }
    for g in gates { print("gate: layer \(g["layer"]!), bias \(g["bias"]!), |w| \(g["weight_norm"]!), |z| \(g["direction_norm"]!)") }
    for p in projections { print("projection: layer \(p["layer"]!), positions \(p["positions"]!), target \(p["target"]!)") }
    for (k, v) in f.training.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v)") }
  }
}
