import Foundation
import LM

/// What a steering vector is trained against.
public enum SteeringObjective: String, Codable, CaseIterable, Sendable {
  /// The response NLL of (instruction, concept response) pairs: the language-modelling loss.
  case lm
  /// SimPO (Meng et al. 2024) on (concept response ≻ the model's own unsteered response), as RePS
  /// and the PrOSV code train vectors: a preference between the two answers to the same prompt.
  case simpo
}

/// SimPO's constants. The loss of a pair, with ℓ̄(y) = (1/|y|) Σₜ log p(yₜ | x, y<ₜ) under the
/// steered model (length-normalised log-likelihood):
///
///   L = −log σ(m),   m = β·s·ℓ̄(y_w) − β·ℓ̄(y_l) − γ
///
/// s = 1 is SimPO. With `scaler` c, s = max(c·(R(y_l) − R(y_w)), 1), R the unsteered model's
/// summed log-likelihood: RePS's `scaled_simpo`, which the PrOSV code runs with β = 1, γ = 0, c = 1.
public struct SimPOParameters: Codable, Equatable, Sendable {
  public var beta: Float
  public var gamma: Float
  public var scaler: Float?

  /// β = 1 and γ = 0, the values RePS and the PrOSV code use; no reference scaling.
  public init(beta: Float = 1, gamma: Float = 0, scaler: Float? = nil) {
    self.beta = beta
    self.gamma = gamma
    self.scaler = scaler
  }
}

/// One prompt with a preferred (chosen) and a dispreferred (rejected) response.
public struct PreferencePair: Sendable, Equatable {
  public var prompt: [Int]
  public var chosen: [Int]
  public var rejected: [Int]

  public init(prompt: [Int], chosen: [Int], rejected: [Int]) {
    self.prompt = prompt
    self.chosen = chosen
    self.rejected = rejected
  }

  public var chosenSequence: TeacherForcedSequence { TeacherForcedSequence(prompt: prompt, response: chosen) }
  public var rejectedSequence: TeacherForcedSequence { TeacherForcedSequence(prompt: prompt, response: rejected) }
}

extension TrainingExample {
  /// Preference pairs for SimPO: the example's output is chosen; the rejected response is the
  /// example's own `rejected` where it has one, else the model's own unsteered greedy answer to the
  /// instruction (as RePS and the PrOSV code pair a concept response with the model's answer),
  /// generated `batch` at a time. Both responses are cut at `maxResponseTokens`.
  public static func preferencePairs(
    _ examples: [TrainingExample], model: DecoderModel, maxResponseTokens: Int, batch: Int = 8, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> [PreferencePair] {
    let sequences = examples.map { $0.tokenized(for: model, maxResponseTokens: maxResponseTokens) }
    var rejected: [[Int]?] = examples.map {
      $0.rejected.map { Array(model.tokenizer.encode($0, parseSpecial: false).prefix(maxResponseTokens)) }
    }
    let missing = rejected.indices.filter { rejected[$0] == nil }
    let answers = try model.greedyAnswers(missing.map { sequences[$0].prompt }, maxTokens: maxResponseTokens, batch: batch, progress: progress)
    for (i, a) in zip(missing, answers) { rejected[i] = a }
    return zip(sequences, rejected).map { PreferencePair(prompt: $0.prompt, chosen: $0.response, rejected: $1 ?? []) }
  }
}

extension DecoderModel {
  /// The model's own unsteered greedy answer to each prompt (SimPO's rejected responses), at most
  /// `maxTokens` long, generated `batch` at a time; `progress` gets (done, total) after each batch.
  public func greedyAnswers(
    _ prompts: [[Int]], maxTokens: Int, batch: Int = 8, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> [[Int]] {
    var answers: [[Int]] = []
    let size = max(1, batch)
    for start in stride(from: 0, to: prompts.count, by: size) {
      let part = Array(prompts[start..<min(prompts.count, start + size)])
      answers += try generate(
        prompts: part, options: GenerationOptions(maxNewTokens: maxTokens, sampling: SamplingParameters(temperature: 0, seed: 0))
      ).map(\.ids)
      progress(answers.count, prompts.count)
    }
    return answers
  }

  /// The reference weight s of each pair (1 without `scaler`): RePS's max(c·(R(y_l) − R(y_w)), 1)
  /// from the unsteered model's summed log-likelihoods. A constant of training: no gradient.
  public func simpoScales(_ pairs: [PreferencePair], parameters: SimPOParameters) throws -> [Float] {
    guard let c = parameters.scaler else { return pairs.map { _ in 1 } }
    return try pairs.map { p in
      let chosen = try responseLoss([p.chosenSequence]) * Float(p.chosen.count)
      let rejected = try responseLoss([p.rejectedSequence]) * Float(p.rejected.count)
      // R = −(summed NLL): R(y_l) − R(y_w) = NLL(y_w) − NLL(y_l).
      return max(c * (chosen - rejected), 1)
    }
  }

  /// Mean SimPO loss over `pairs` (see ``SimPOParameters``), steered by `intervention`.
  ///
  /// Backward: with n̄ = −ℓ̄ the mean response NLL, ∂L/∂θ = σ(−m)·β·(s·∂n̄_w/∂θ − ∂n̄_l/∂θ). The
  /// forward pass gives m; a second pass per response accumulates its n̄'s gradient in the
  /// intervention with that weight (times `gradientScale` / the pair count).
  public func simpoLoss(
    _ pairs: [PreferencePair], intervention: (any Intervention)?, parameters: SimPOParameters, scales: [Float]? = nil,
    backward: Bool = false, gradientScale: Float = 1, prefix: FrozenPrefix? = nil
  ) throws -> Float {
    guard !pairs.isEmpty else { throw ModelError.emptyInput("no preference pairs") }
    let s = scales ?? pairs.map { _ in 1 }
    var total: Float = 0
    for (i, p) in pairs.enumerated() {
      let nllChosen = try responseLoss([p.chosenSequence], intervention: intervention, prefix: prefix)
      let nllRejected = try responseLoss([p.rejectedSequence], intervention: intervention, prefix: prefix)
      let beta = parameters.beta
      let margin = -beta * s[i] * nllChosen + beta * nllRejected - parameters.gamma
      total += Self.softplus(-margin)
      guard backward, let intervention else { continue }
      let weight = Self.sigmoid(-margin) * beta * gradientScale / Float(pairs.count)
      _ = try responseLoss([p.chosenSequence], intervention: intervention, backward: true, gradientScale: weight * s[i], prefix: prefix)
      _ = try responseLoss([p.rejectedSequence], intervention: intervention, backward: true, gradientScale: -weight, prefix: prefix)
    }
    return total / Float(pairs.count)
  }

  /// log(1 + eˣ) without overflow.
  static func softplus(_ x: Float) -> Float { x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)) }
  static func sigmoid(_ x: Float) -> Float { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
}
