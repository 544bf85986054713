import Foundation
import LM

/// The thresholds and maps of the embedded judge, fitted by `compare calibrate` and committed
/// with the project (judges/calibration.json).
public struct JudgeCalibration: Codable, Equatable, Sendable {
  public static let format = "psr-judge-calibration"
  public static let currentVersion = 1

  /// Similarity cut points: score 2 at or above `high`, 1 at or above `low`, else 0.
  public struct Thresholds: Codable, Equatable, Sendable {
    public var low: Double
    public var high: Double

    public init(low: Double, high: Double) {
      self.low = low
      self.high = high
    }

    public func score(_ similarity: Double) -> Double { similarity >= high ? 2 : similarity >= low ? 1 : 0 }
  }

  /// A logistic model on standardised features: p = σ(w · (x − mean)/std + b).
  public struct Logistic: Codable, Equatable, Sendable {
    public var weights: [Double]
    public var bias: Double
    public var mean: [Double]
    public var std: [Double]

    public func probability(_ x: [Double]) -> Double {
      var z = bias
      for i in weights.indices { z += weights[i] * (x[i] - mean[i]) / max(std[i], 1e-9) }
      return 1 / (1 + exp(-z))
    }

    /// Fits by gradient descent on the mean log-loss (L2 1e-3), features standardised.
    public static func fit(positives: [[Double]], negatives: [[Double]], iterations: Int = 3000) -> Logistic {
      let all = positives + negatives
      let k = all.first?.count ?? 0
      let mean = (0..<k).map { i -> Double in
        var s = 0.0
        for x in all { s += x[i] }
        return s / Double(max(1, all.count))
      }
      let std = (0..<k).map { i -> Double in
        var s = 0.0
        for x in all { s += (x[i] - mean[i]) * (x[i] - mean[i]) }
        return (s / Double(max(1, all.count))).squareRoot()
      }
      var model = Logistic(weights: [Double](repeating: 0, count: k), bias: 0, mean: mean, std: std)
      let labelled = positives.map { ($0, 1.0) } + negatives.map { ($0, 0.0) }
      for _ in 0..<iterations {
        var gw = [Double](repeating: 0, count: k)
        var gb = 0.0
        for (x, y) in labelled {
          let e = model.probability(x) - y
          for i in 0..<k { gw[i] += e * (x[i] - mean[i]) / max(std[i], 1e-9) }
          gb += e
        }
        let n = Double(labelled.count)
        for i in 0..<k { model.weights[i] -= 0.5 * (gw[i] / n + 1e-3 * model.weights[i]) }
        model.bias -= 0.5 * gb / n
      }
      return model
    }
  }

  public var format = JudgeCalibration.format
  public var formatVersion = JudgeCalibration.currentVersion
  public var encoderSHA256: String
  public var languageModelSHA256: String
  public var concept: Thresholds
  public var instruct: Thresholds
  /// Features: mean token log-probability, repeated-trigram fraction, distinct-token fraction.
  public var fluency: Logistic
  /// Fluency probability cut points for scores 1 and 2.
  public var fluencyThresholds: Thresholds
  /// Trait feature: mean over pairs of sim(answer, pos) − sim(answer, neg).
  public var persona: Logistic
  /// Held-out AUROC and accuracy of each judge, as measured when this file was made.
  public var metrics: [String: Double]
  public var created: String

  enum CodingKeys: String, CodingKey {
    case format
    case formatVersion = "format_version"
    case encoderSHA256 = "encoder_sha256"
    case
      languageModelSHA256 = "language_model_sha256"
    case concept, instruct, fluency
    case fluencyThresholds = "fluency_thresholds"
    case
      persona, metrics, created
  }

  public static func load(_ path: String) throws -> JudgeCalibration {
    guard let data = FileManager.default.contents(atPath: path) else { throw JudgeError.calibration(path: path, reason: "cannot read it") }
    let c: JudgeCalibration
    do { c = try JSONDecoder().decode(JudgeCalibration.self, from: data) } catch {
      throw JudgeError.calibration(path: path, reason: describeDecodingFailure(error))
    }
    guard c.format == format, c.formatVersion <= currentVersion else {
      throw JudgeError.calibration(path: path, reason: "format \(c.format) v\(c.formatVersion) is not \(format) v\(currentVersion)")
    }
    return c
  }

  public func save(_ path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
  }
}

public enum JudgeError: Error, CustomStringConvertible, Equatable {
  case calibration(path: String, reason: String)
  case data(String)
  case server(String)

  public var description: String {
    switch self {
    case .calibration(let path, let reason): "judge calibration \(path): \(reason)"
    case .data(let why): why
    case .server(let why): "LLM judge: \(why)"
    }
  }
}
