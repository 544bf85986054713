import Foundation
import LM
import PSR
import Steering
import Store

/// What fitting a method on one unit may use: the model, the run's settings, the unit's seed and
/// its capture. Data derived from the capture are made on first use and shared by the methods.
public final class UnitFit {
  public let model: DecoderModel
  public let config: BenchConfig
  public let unit: BenchUnit
  /// The unit's seed: every fit and every generation of the unit draws from it.
  public let seed: UInt64
  /// The unit's capture (nil when no method of the run needs one).
  public let capture: ActivationReader?
  public var log: (String) -> Void = { _ in }
  private var layerData: CapturedLayer?
  private var sequences: [TeacherForcedSequence]?
  private var pairs: [PreferencePair]?

  init(model: DecoderModel, config: BenchConfig, unit: BenchUnit, seed: UInt64, capture: ActivationReader?) {
    self.model = model
    self.config = config
    self.unit = unit
    self.seed = seed
    self.capture = capture
  }

  /// The capture, for a method that declared `needsCapture`.
  public func requireCapture() throws -> ActivationReader {
    guard let capture else { throw CompareError.invalid("\(unit.bench) \(unit.id): no capture was made for a method that needs one") }
    return capture
  }

  /// The capture at the steered layer, a fifth held out for validation when there are 5 examples or more.
  public func steeredLayer() throws -> CapturedLayer {
    if let layerData { return layerData }
    let capture = try requireCapture()
    let data = try CapturedLayer(
      reader: capture, layer: config.layer, validationFraction: capture.exampleCount >= 5 ? 0.2 : 0, seed: seed)
    layerData = data
    return data
  }

  /// The capture's (unprompted prompt, prompted response) pairs with a response.
  public func teacherForcedPairs() throws -> [TeacherForcedSequence] {
    if let sequences { return sequences }
    let pairs = try requireCapture().teacherForcedSequences(model: model).filter { !$0.response.isEmpty }
    sequences = pairs
    return pairs
  }

  /// SimPO's pairs: each captured (unprompted prompt, prompted response) with the model's own
  /// greedy answer to the unprompted prompt as the rejected response (as long as the training
  /// responses); pairs whose two responses are equal or whose rejected one is empty are left out.
  public func preferencePairs() throws -> [PreferencePair] {
    if let pairs { return pairs }
    let sequences = try teacherForcedPairs()
    log("\(unit.bench) \(unit.id): the model's own answers to \(sequences.count) training prompts (SimPO's rejected)")
    let answers = try model.greedyAnswers(sequences.map(\.prompt), maxTokens: config.trainTokens, batch: config.captureBatch)
    let made = zip(sequences, answers).filter { !$1.isEmpty && $1 != $0.response }.map {
      PreferencePair(prompt: $0.prompt, chosen: $0.response, rejected: $1)
    }
    pairs = made
    return made
  }

  /// An empty steering file of `kind` for the model, recording where it was fitted.
  public func steeringFile(_ kind: SteeringKind, method: String) throws -> SteeringFile {
    var file = try SteeringFile(kind: kind, for: model)
    file.training = [
      "bench": .string(unit.bench.rawValue), "unit": .string(unit.id), "method": .string(method),
      // A string: a 64-bit seed is not exact as a JSON number (a double).
      "seed": .string(String(seed)), "layer": .number(Double(config.layer)),
      "train_samples": .number(Double(config.trainSamples)), "train_tokens": .number(Double(config.trainTokens)),
      "compute": .string(model.computePrecision.rawValue),
    ]
    return file
  }
}
