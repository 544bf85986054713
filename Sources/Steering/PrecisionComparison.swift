import Foundation
import LM
import Tensor

/// How far a model computed at another precision (``ComputePrecision``) lies from the fp32
/// reference, on the same file and texts: the error budget of docs/PRECISION.md.
///
/// - Next-token distributions, teacher-forced at every position of every text:
///   `KL(p₃₂ ‖ p)` = Σᵥ p₃₂(v)·(log p₃₂(v) − log p(v)), mean and maximum, and how often the two argmaxes agree.
/// - The gradient of the mean response NLL with respect to a steering vector at `layer` (the
///   quantity FSSV and PrOSV descend), as the cosine of the two gradients.
public struct PrecisionComparison: Codable, Sendable, Equatable {
  public var positions: Int
  public var meanKL: Double
  public var maxKL: Double
  public var greedyAgreement: Double
  public var gradientCosine: Double
  public var layer: Int

  enum CodingKeys: String, CodingKey {
    case positions, layer
    case meanKL = "mean_kl"
    case maxKL = "max_kl"
    case greedyAgreement = "greedy_agreement"
    case gradientCosine = "gradient_cosine"
  }

  /// Compares `candidate` with `reference` (the same file, loaded at two precisions) on
  /// `sequences`: KL and agreement at every position of prompt and response, the gradient of the
  /// responses' mean NLL.
  /// The steering vector is a seeded random direction (uniform in the cube, scaled to norm 1), at α = 1 on every token.
  public init(
    reference: DecoderModel, candidate: DecoderModel, sequences: [TeacherForcedSequence], layer: Int, seed: UInt64 = 0
  ) throws {
    guard reference.configuration.vocabularySize == candidate.configuration.vocabularySize,
      reference.configuration.modelDimension == candidate.configuration.modelDimension
    else { throw ModelError.invalidConfiguration("the two models differ in shape") }
    let sequences = sequences.filter { !$0.prompt.isEmpty && !$0.response.isEmpty }
    guard !sequences.isEmpty else { throw ModelError.emptyInput("no sequence with both a prompt and a response") }
    guard (0..<reference.configuration.layerCount).contains(layer) else {
      throw ModelError.invalidConfiguration("layer \(layer) is not one of the model's 0…\(reference.configuration.layerCount - 1)")
    }
    let texts = sequences.map { $0.prompt + $0.response }
    var kls: [Double] = []
    var agree = 0
    for text in texts {
      let run = { (model: DecoderModel) throws -> Matrix in
        try model.forward(
          [ForwardChunk(tokens: text, cache: model.makeCache(capacity: text.count), promptLength: text.count)], logits: .all)
      }
      let p = try run(reference), q = try run(candidate)
      for r in 0..<p.rows {
        let (kl, same) = Self.divergence(p.row(r), q.row(r))
        kls.append(kl)
        if same { agree += 1 }
      }
    }
    positions = kls.count
    meanKL = kls.reduce(0, +) / Double(kls.count)
    maxKL = kls.max() ?? 0
    greedyAgreement = Double(agree) / Double(kls.count)
    self.layer = layer
    var generator = SeededGenerator(seed: seed)
    let width = reference.configuration.modelDimension
    var direction = (0..<width).map { _ in Float.random(in: -1...1, using: &generator) }
    let norm = sqrt(direction.reduce(0) { $0 + $1 * $1 })
    direction = direction.map { $0 / max(norm, 1e-12) }
    func gradient(_ model: DecoderModel) throws -> [Float] {
      let vector = AdditiveVector(layer: layer, alpha: 1, vector: direction)
      _ = try model.meanResponseLoss(sequences, intervention: vector, backward: true)
      return vector.gradientVector
    }
    let g = try gradient(reference), h = try gradient(candidate)
    var dot = 0.0, gg = 0.0, hh = 0.0
    for i in g.indices {
      dot += Double(g[i]) * Double(h[i])
      gg += Double(g[i]) * Double(g[i])
      hh += Double(h[i]) * Double(h[i])
    }
    gradientCosine = gg > 0 && hh > 0 ? dot / (gg * hh).squareRoot() : (gg == hh ? 1 : 0)
  }

  /// KL(softmax(a) ‖ softmax(b)) in double, and whether the argmaxes (first of equals) agree.
  static func divergence(_ a: [Float], _ b: [Float]) -> (Double, Bool) {
    let count = a.count
    var maxA = -Double.infinity, maxB = -Double.infinity
    var argA = 0, argB = 0
    for v in 0..<count {
      if Double(a[v]) > maxA { maxA = Double(a[v]); argA = v }
      if Double(b[v]) > maxB { maxB = Double(b[v]); argB = v }
    }
    var sumA = 0.0, sumB = 0.0
    for v in 0..<count {
      sumA += exp(Double(a[v]) - maxA)
      sumB += exp(Double(b[v]) - maxB)
    }
    let logZA = maxA + log(sumA), logZB = maxB + log(sumB)
    var kl = 0.0
    for v in 0..<count {
      let la = Double(a[v]) - logZA
      kl += exp(la) * (la - (Double(b[v]) - logZB))
    }
    return (max(0, kl), argA == argB)
  }
}

extension PrecisionComparison {
  /// One instruction and its reference answer as a teacher-forced sequence of at most `maxTokens`
  /// tokens, as `psr precision` compares on them: the chat-rendered instruction cut to
  /// `maxTokens − 1` tokens (so that at least one answer token fits), then the answer's tokens up
  /// to `maxTokens`. `nil` when no answer token is left (an empty answer, or `maxTokens` < 2).
  public static func sequence(model: DecoderModel, instruction: String, answer: String, maxTokens: Int) -> TeacherForcedSequence? {
    guard maxTokens >= 2 else { return nil }
    let prompt = Array(model.chatPrompt(user: instruction).prefix(maxTokens - 1))
    let response = Array(model.tokenizer.encode(answer, parseSpecial: false).prefix(maxTokens - prompt.count))
    return response.isEmpty ? nil : TeacherForcedSequence(prompt: prompt, response: response)
  }
}
