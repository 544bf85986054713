import LM
import Steering

/// The edits of one steering file at one layer, on response tokens: each is a coefficient per
/// token times a direction.
struct EntryEdits {
  struct Entry {
    let direction: [Float]
    let isGate: Bool
    /// A gate's weight and bias; a vector's constant coefficient (0 off its positions).
    let weight: [Float]
    let bias: Float
    let scale: Float

    /// Δ_t·z / ‖z‖².
    func projection(of delta: [Float], row t: Int, width d: Int) -> Float {
      var dot = 0.0
      var zz = 0.0
      for i in 0..<d {
        dot += Double(delta[t * d + i]) * Double(direction[i])
        zz += Double(direction[i]) * Double(direction[i])
      }
      return zz > 0 ? Float(dot / zz) : 0
    }
  }

  let entries: [Entry]
  var isEmpty: Bool { entries.isEmpty }

  init(file: SteeringFile, layer: Int) {
    let gates = file.gates.filter { $0.layer == layer }.map {
      Entry(direction: $0.direction, isGate: true, weight: $0.weight, bias: $0.bias, scale: file.alpha)
    }
    let vectors = file.vectors.filter { $0.layer == layer }.map {
      Entry(
        direction: $0.vector, isGate: false, weight: [], bias: 0,
        scale: $0.positions.contains(.response(index: 0)) ? file.alpha * $0.alpha : 0)
    }
    entries = gates + vectors
  }

  /// Per entry, the coefficient at each of `n` rows: α·ReLU(w·h + b) for a gate (h a row of
  /// `base`, which gates need and vectors do not), the constant for a vector.
  func coefficients(base: [Float], rows n: Int, width d: Int) -> [[Float]] {
    entries.map { entry in
      guard entry.isGate else { return [Float](repeating: entry.scale, count: n) }
      return (0..<n).map { t in
        var a = Double(entry.bias)
        for i in 0..<d { a += Double(entry.weight[i]) * Double(base[t * d + i]) }
        return entry.scale * Float(max(0, a))
      }
    }
  }

  /// Σ‖Δ_t − Σ_k c_kt z_k‖² / `total`.
  func relativeMSE(delta: [Float], coefficients: [[Float]], width d: Int, total: Double) -> Double {
    let n = d == 0 ? 0 : delta.count / d
    var error = 0.0
    for t in 0..<n {
      for i in 0..<d {
        var r = Double(delta[t * d + i])
        for (k, entry) in entries.enumerated() { r -= Double(coefficients[k][t]) * Double(entry.direction[i]) }
        error += r * r
      }
    }
    return total > 0 ? error / total : 0
  }
}
