import Foundation
import LM

/// Options of joint α/v training (PrOSV paper, Bao et al. 2026). α₀ = β·√d with β the
/// factor init; v₀ ~ U(±λ/√d) with λ the vector init.
public struct SteeringVectorTrainingOptions: Codable, Equatable, Sendable {
  public var kind: SteeringKind
  public var layer: Int
  public var positions: PositionSet
  public var factorInit: Float
  public var factorLearningRate: Float
  public var vectorInit: Float
  public var vectorLearningRate: Float
  public var epochs: Int
  public var batchSize: Int
  /// Gradient-norm clip on v (α is not clipped).
  public var vectorGradientClip: Float
  public var maxResponseTokens: Int
  /// Sequences per forward/backward pass inside a batch (bounds memory).
  public var microBatch: Int
  public var seed: UInt64
  /// The language-modelling loss (default) or SimPO on preference pairs (`train(pairs:)`).
  public var objective: SteeringObjective = .lm
  /// SimPO's β, γ and optional reference scaler (objective `simpo`).
  public var simpo = SimPOParameters()

  /// The defaults of the PrOSV paper: `p2+s2` PrOSV or FSSV at every position, except
  /// PrOSV's factor learning rate: the paper's 10 drove SmolLM2-135M to degenerate text
  /// (see experiments/prosv), so the default is 1; pass 10 to follow the paper exactly.
  public static func defaults(kind: SteeringKind, layer: Int) -> SteeringVectorTrainingOptions {
    switch kind {
    case .prosv:
      SteeringVectorTrainingOptions(
        kind: .prosv, layer: layer, positions: .prompt(prefix: 2, suffix: 2), factorInit: 4, factorLearningRate: 1,
        vectorInit: 8, vectorLearningRate: 4e-2, epochs: 12, batchSize: 12, vectorGradientClip: 1,
        maxResponseTokens: 128, microBatch: 4, seed: 0)
    default:
      SteeringVectorTrainingOptions(
        kind: .fssv, layer: layer, positions: .all, factorInit: 2, factorLearningRate: 1, vectorInit: 1,
        vectorLearningRate: 4e-2, epochs: 12, batchSize: 12, vectorGradientClip: 1, maxResponseTokens: 128,
        microBatch: 4, seed: 0)
    }
  }
}

/// Progress of training, reported after every optimiser step.
public struct TrainingProgress: Sendable {
  public var epoch: Int
  public var step: Int
  public var totalSteps: Int
  public var loss: Float
  public var tokensPerSecond: Double
  public var alpha: Float
}

public enum TrainingError: Error, CustomStringConvertible {
  case nonFinite(epoch: Int, step: Int, lastGood: VectorEntry)
  case invalidOptions(String)

  public var description: String {
    switch self {
    case .nonFinite(let epoch, let step, _):
      "training produced NaN or infinity at epoch \(epoch), step \(step); the last good parameters were kept"
    case .invalidOptions(let why): "invalid training options: \(why)"
    }
  }
}

/// Trains α and v of an additive vector jointly with Adam against the response NLL of
/// (x, y) pairs, with a linear learning-rate decay to zero; no factor search afterwards.
public struct SteeringVectorTrainer {
  public let model: DecoderModel
  public let options: SteeringVectorTrainingOptions

  public init(model: DecoderModel, options: SteeringVectorTrainingOptions) throws {
    let o = options
    guard (0..<model.configuration.layerCount).contains(o.layer) else {
      throw SteeringError.layerOutOfRange(o.layer, layerCount: model.configuration.layerCount)
    }
    guard o.epochs > 0, o.batchSize > 0, o.microBatch > 0, o.maxResponseTokens > 0 else {
      throw TrainingError.invalidOptions("epochs, batch size, micro-batch and response length must be positive")
    }
    self.model = model
    self.options = o
  }

  /// The initial vector: α₀ = β·√d, v₀ ~ U(±λ/√d), seeded.
  public func initialVector() -> AdditiveVector {
    let d = model.configuration.modelDimension
    let root = Float(d).squareRoot()
    var g = SeededGenerator(seed: options.seed)
    let v = (0..<d).map { _ in (2 * g.nextUnit() - 1) * options.vectorInit / root }
    return AdditiveVector(layer: options.layer, alpha: options.factorInit * root, vector: v, positions: options.positions)
  }

  /// Trains on `examples` (objective `lm`) and returns the vector. `checkpoint` is called after each epoch.
  public func train(
    _ examples: [TeacherForcedSequence], progress: (TrainingProgress) -> Void = { _ in },
    checkpoint: (AdditiveVector, Int) throws -> Void = { _, _ in }
  ) throws -> AdditiveVector {
    guard !examples.isEmpty else { throw TrainingError.invalidOptions("no training examples") }
    guard options.objective == .lm else { throw TrainingError.invalidOptions("the simpo objective trains on preference pairs") }
    let prefix = FrozenPrefix(layer: options.layer)
    return try optimise(
      count: examples.count, tokens: { $0.reduce(0) { $0 + examples[$1].prompt.count + examples[$1].response.count } },
      loss: { batch, steering in try lossAndGradient(batch.map { examples[$0] }, steering, prefix: prefix) },
      progress: progress, checkpoint: checkpoint)
  }

  /// Trains on preference pairs with SimPO (objective `simpo`): the chosen response over the
  /// rejected one for the same prompt. Returns the vector.
  public func train(
    pairs: [PreferencePair], progress: (TrainingProgress) -> Void = { _ in },
    checkpoint: (AdditiveVector, Int) throws -> Void = { _, _ in }
  ) throws -> AdditiveVector {
    guard !pairs.isEmpty else { throw TrainingError.invalidOptions("no preference pairs") }
    guard options.objective == .simpo else { throw TrainingError.invalidOptions("the lm objective trains on (prompt, response) sequences") }
    for (i, p) in pairs.enumerated() where p.prompt.isEmpty || p.chosen.isEmpty || p.rejected.isEmpty {
      throw TrainingError.invalidOptions("preference pair \(i) needs a prompt, a chosen and a rejected response")
    }
    let scales = try model.simpoScales(pairs, parameters: options.simpo)
    let prefix = FrozenPrefix(layer: options.layer)
    return try optimise(
      count: pairs.count,
      tokens: { $0.reduce(0) { $0 + 2 * pairs[$1].prompt.count + pairs[$1].chosen.count + pairs[$1].rejected.count } },
      loss: { batch, steering in
        try model.simpoLoss(
          batch.map { pairs[$0] }, intervention: steering, parameters: options.simpo, scales: batch.map { scales[$0] }, backward: true,
          prefix: prefix)
      }, progress: progress, checkpoint: checkpoint)
  }

  /// Mean SimPO loss of `pairs` under `steering` (nil: unsteered).
  public func preferenceLoss(_ pairs: [PreferencePair], steering: (any Intervention)?) throws -> Float {
    try model.simpoLoss(pairs, intervention: steering, parameters: options.simpo, scales: try model.simpoScales(pairs, parameters: options.simpo))
  }

  /// Adam on α and v over `count` examples in shuffled batches, with a linear learning-rate decay
  /// to zero; `loss` returns a batch's loss and accumulates its gradients in the vector.
  private func optimise(
    count: Int, tokens: ([Int]) -> Int, loss batchLoss: ([Int], AdditiveVector) throws -> Float, progress: (TrainingProgress) -> Void,
    checkpoint: (AdditiveVector, Int) throws -> Void
  ) throws -> AdditiveVector {
    let steering = initialVector()
    var alphaOptimizer = Adam(count: 1)
    var vectorOptimizer = Adam(count: steering.vector.count)
    let stepsPerEpoch = (count + options.batchSize - 1) / options.batchSize
    let totalSteps = stepsPerEpoch * options.epochs
    var order = Array(0..<count)
    var generator = SeededGenerator(seed: options.seed &+ 1)
    var step = 0
    for epoch in 1...options.epochs {
      order.shuffle(using: &generator)
      for batchStart in stride(from: 0, to: order.count, by: options.batchSize) {
        let batch = Array(order[batchStart..<min(order.count, batchStart + options.batchSize)])
        let start = Date()
        steering.zeroGradients()
        let loss = try batchLoss(batch, steering)
        let decay = 1 - Float(step) / Float(totalSteps)
        var gradV = steering.gradientVector
        let gradA = steering.gradientAlpha
        guard loss.isFinite, gradA.isFinite, gradV.allSatisfy(\.isFinite) else {
          throw TrainingError.nonFinite(
            epoch: epoch, step: step,
            lastGood: VectorEntry(layer: steering.layer, positions: steering.positions, alpha: steering.alpha, vector: steering.vector))
        }
        let norm = gradV.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > options.vectorGradientClip { gradV = gradV.map { $0 * options.vectorGradientClip / norm } }
        var alpha = [steering.alpha]
        alphaOptimizer.update(&alpha, gradient: [gradA], learningRate: options.factorLearningRate * decay)
        vectorOptimizer.update(&steering.vector, gradient: gradV, learningRate: options.vectorLearningRate * decay)
        steering.alpha = alpha[0]
        step += 1
        progress(
          TrainingProgress(
            epoch: epoch, step: step, totalSteps: totalSteps, loss: loss,
            tokensPerSecond: Double(tokens(batch)) / Date().timeIntervalSince(start), alpha: steering.alpha))
      }
      try checkpoint(steering, epoch)
    }
    return steering
  }

  /// Batch loss (token mean) with gradients accumulated in `steering`, in micro-batches.
  func lossAndGradient(_ batch: [TeacherForcedSequence], _ steering: AdditiveVector, prefix: FrozenPrefix? = nil) throws -> Float {
    try model.meanResponseLoss(batch, intervention: steering, batch: options.microBatch, backward: true, prefix: prefix)
  }

  /// Mean response NLL of `examples` under `steering` (nil: unsteered), token-weighted.
  public func evaluate(_ examples: [TeacherForcedSequence], steering: (any Intervention)?) throws -> Float {
    try model.meanResponseLoss(examples, intervention: steering, batch: options.microBatch)
  }
}
