import Foundation
import LM
import Steering
import Tensor

/// Options of an S-PSR fit (one layer, MSE to the captured deltas).
public struct PSRFitOptions: Sendable, Equatable {
  public var epochs = 60
  public var learningRate: Float = 1e-2
  public var batchTokens = 512
  public var weightDecay: Float = 0
  /// Penalise max(0, 1 − Σₜ λₜ) per example, so that no example's gate goes dead.
  public var deadGateRegulariser = true
  public var regulariserWeight: Float = 1e-3
  /// Stop after this many epochs without a better validation error (0: never).
  public var patience = 10
  public var seed: UInt64 = 0

  public init() {}
}

/// Relative MSE ‖pred − Δ‖² / ‖Δ‖² of the fitted PSR gate and the two constant baselines on one split.
public struct RelativeMSE: Sendable, Equatable, Codable {
  public var psr: Double
  public var constMSE: Double
  public var diffMean: Double

  enum CodingKeys: String, CodingKey {
    case psr
    case constMSE = "const_mse"
    case diffMean = "diffmean"
  }

  /// Each predictor's name as `psr fit` prints and writes it, with its value, in the table's order.
  public var named: [(name: String, value: Double)] { [("psr", psr), ("const_mse", constMSE), ("diffmean", diffMean)] }

  /// The same, keyed by name, as `psr fit --json` writes it.
  public var byName: [String: Double] { Dictionary(uniqueKeysWithValues: named.map { ($0.name, $0.value) }) }
}

/// What a fit reports: relative MSE per predictor on both splits, and the fraction of validation
/// tokens whose PSR gate is exactly zero.
public struct FitSummary: Sendable, Equatable, Codable {
  public var trainRelativeMSE: RelativeMSE
  public var validationRelativeMSE: RelativeMSE
  public var gateZeroFraction: Double
  public var epochs: Int
}

/// Relative MSE of predictions against deltas over `rows`.
func relativeMSE(_ data: CapturedLayer, rows: Range<Int>, predict: (Int, UnsafePointer<Float>) -> (Float, [Float])?) -> Double {
  var error = 0.0
  var total = 0.0
  let d = data.width
  data.base.withUnsafeBufferPointer { b in
    data.delta.withUnsafeBufferPointer { dl in
      for r in rows {
        let delta = dl.baseAddress! + r * d
        let p = predict(r, b.baseAddress! + r * d)
        for i in 0..<d {
          let predicted = p.map { $0.0 * $0.1[i] } ?? 0
          error += Double((predicted - delta[i]) * (predicted - delta[i]))
          total += Double(delta[i] * delta[i])
        }
      }
    }
  }
  return total > 0 ? error / total : 0
}

/// The constant baselines: DiffMean, the mean of per-example mean deltas (each example
/// weighs the same), and Const-MSE, the token mean (the MSE-optimal constant on training
/// tokens). Const-MSE's training error is never above DiffMean's.
public enum ConstantBaselines {
  public static func diffMean(_ data: CapturedLayer) -> [Float] {
    var sum = [Float](repeating: 0, count: data.width)
    for e in data.trainExamples {
      var m = [Float](repeating: 0, count: data.width)
      for r in e { for i in 0..<data.width { m[i] += data.delta[r * data.width + i] } }
      for i in 0..<data.width { sum[i] += m[i] / Float(e.count) }
    }
    return sum.map { $0 / Float(max(1, data.trainExamples.count)) }
  }

  public static func constMSE(_ data: CapturedLayer) -> [Float] {
    var sum = [Float](repeating: 0, count: data.width)
    for r in data.trainRows { for i in 0..<data.width { sum[i] += data.delta[r * data.width + i] } }
    return sum.map { $0 / Float(max(1, data.trainRows.count)) }
  }
}

/// S-PSR: fits λ(h) = ReLU(w·h + b) and z at one layer so that λ(h)·z ≈ Δ, with Adam on
/// L = (1/T) Σₜ ‖λₜz − Δₜ‖² / mean‖Δ‖² (+ the dead-gate term).
///
/// Starts from z = the unit direction of the mean delta, b = the mean delta's length and
/// w = 0: constant steering equal to Const-MSE, which training can only improve on.
public struct SinglePSRFit {
  public let data: CapturedLayer
  public let options: PSRFitOptions

  public init(data: CapturedLayer, options: PSRFitOptions) {
    self.data = data
    self.options = options
  }

  public func initialGate() -> GateEntry {
    let mean = ConstantBaselines.constMSE(data)
    let length = mean.reduce(0) { $0 + $1 * $1 }.squareRoot()
    let direction = length > 0 ? mean.map { $0 / length } : [Float](repeating: 0, count: data.width)
    return GateEntry(layer: data.layer, weight: [Float](repeating: 0, count: data.width), bias: length, direction: direction)
  }

  /// Trains and returns the gate with the best validation error, and the summary.
  public func fit(progress: (Int, Double, Double) -> Void = { _, _, _ in }) -> (GateEntry, FitSummary) {
    let d = data.width
    var gate = initialGate()
    var best = gate
    var bestValidation = validationError(gate)
    var sinceBest = 0
    var adamW = Adam(count: d, weightDecay: options.weightDecay)
    var adamZ = Adam(count: d)
    var adamB = Adam(count: 1)
    var rows = Array(data.trainRows)
    var generator = SeededGenerator(seed: options.seed)
    let scale = Float(1 / max(1e-12, meanSquaredNorm()))
    let exampleOf = exampleIndex()
    var epochsRun = 0
    for epoch in 1...max(1, options.epochs) {
      rows.shuffle(using: &generator)
      var trainLoss = 0.0
      for start in stride(from: 0, to: rows.count, by: options.batchTokens) {
        let batch = rows[start..<min(rows.count, start + options.batchTokens)]
        var gW = [Float](repeating: 0, count: d)
        var gZ = gW
        var gB: Float = 0
        var lambdaSums: [Int: Float] = [:]
        let n = Float(batch.count)
        data.base.withUnsafeBufferPointer { b in
          data.delta.withUnsafeBufferPointer { dl in
            for r in batch {
              let h = b.baseAddress! + r * d
              let delta = dl.baseAddress! + r * d
              let a = Kernels.dot(gate.weight, h, count: d) + gate.bias
              let lambda = max(0, a)
              lambdaSums[exampleOf[r], default: 0] += lambda
              var zr: Float = 0
              for i in 0..<d {
                let residual = lambda * gate.direction[i] - delta[i]
                trainLoss += Double(residual * residual * scale)
                gZ[i] += 2 * scale / n * lambda * residual
                zr += gate.direction[i] * residual
              }
              if a > 0 {
                let gLambda = 2 * scale / n * zr
                Kernels.axpy(gLambda, h, &gW, count: d)
                gB += gLambda
              }
            }
            if options.deadGateRegulariser {
              // Straight-through on the pre-activation, so a dead gate still gets pushed up.
              for r in batch where (lambdaSums[exampleOf[r]] ?? 0) < 1 {
                let g = -options.regulariserWeight / n
                Kernels.axpy(g, b.baseAddress! + r * d, &gW, count: d)
                gB += g
              }
            }
          }
        }
        adamW.update(&gate.weight, gradient: gW, learningRate: options.learningRate)
        adamZ.update(&gate.direction, gradient: gZ, learningRate: options.learningRate)
        var bias = [gate.bias]
        adamB.update(&bias, gradient: [gB], learningRate: options.learningRate * 10)
        gate.bias = bias[0]
      }
      epochsRun = epoch
      let validation = validationError(gate)
      progress(epoch, trainLoss / Double(max(1, rows.count)), validation)
      if validation < bestValidation {
        bestValidation = validation
        best = gate
        sinceBest = 0
      } else {
        sinceBest += 1
        if options.patience > 0 && sinceBest >= options.patience { break }
      }
    }
    return (best, summary(best, epochs: epochsRun))
  }

  private func meanSquaredNorm() -> Double {
    var s = 0.0
    for r in data.trainRows { for i in 0..<data.width { s += Double(data.delta[r * data.width + i] * data.delta[r * data.width + i]) } }
    return s / Double(max(1, data.trainRows.count))
  }

  private func exampleIndex() -> [Int] {
    var index = [Int](repeating: 0, count: data.base.count / data.width)
    for (e, range) in (data.trainExamples + data.validationExamples).enumerated() { for r in range { index[r] = e } }
    return index
  }

  private func validationError(_ gate: GateEntry) -> Double {
    let rows = data.validationRows.isEmpty ? data.trainRows : data.validationRows
    return relativeMSE(data, rows: rows) { _, h in (PSRGate.coefficient(gate, h), gate.direction) }
  }

  /// Relative MSE of PSR, Const-MSE and DiffMean on both splits, and gate sparsity.
  public func summary(_ gate: GateEntry, epochs: Int) -> FitSummary {
    let constant = ConstantBaselines.constMSE(data)
    let diffMean = ConstantBaselines.diffMean(data)
    func table(_ rows: Range<Int>) -> RelativeMSE {
      RelativeMSE(
        psr: relativeMSE(data, rows: rows) { _, h in (PSRGate.coefficient(gate, h), gate.direction) },
        constMSE: relativeMSE(data, rows: rows) { _, _ in (1, constant) },
        diffMean: relativeMSE(data, rows: rows) { _, _ in (1, diffMean) })
    }
    let rows = data.validationRows.isEmpty ? data.trainRows : data.validationRows
    var zero = 0
    data.base.withUnsafeBufferPointer { b in
      for r in rows where PSRGate.coefficient(gate, b.baseAddress! + r * data.width) == 0 { zero += 1 }
    }
    return FitSummary(
      trainRelativeMSE: table(data.trainRows), validationRelativeMSE: table(rows),
      gateZeroFraction: Double(zero) / Double(max(1, rows.count)), epochs: epochs)
  }
}
