import Foundation
import Tensor

/// A sparse mixture-of-experts feed-forward block (Qwen3-MoE, Mixtral): a router scores the
/// experts per token, the `perToken` best run, and their outputs are summed with the routing
/// weights.
public struct MixtureOfExperts: Codable, Equatable, Sendable {
  public var count: Int
  /// Experts that run per token (top-k).
  public var perToken: Int
  /// The width of each expert's gated feed-forward block.
  public var feedForwardDimension: Int
  /// Whether the chosen experts' softmax probabilities are divided by their sum (Mixtral always;
  /// Qwen3-MoE's `norm_topk_prob`), i.e. a softmax over the chosen logits only.
  public var normalizesWeights: Bool

  func validate() throws {
    guard count >= 2, count <= 1024 else { throw ModelError.invalidConfiguration("expert count \(count) must be 2 to 1024") }
    guard perToken >= 1, perToken <= count else {
      throw ModelError.invalidConfiguration("experts per token \(perToken) must be 1 to the expert count \(count)")
    }
    guard feedForwardDimension > 0, feedForwardDimension <= 262_144 else {
      throw ModelError.invalidConfiguration("expert feed-forward width \(feedForwardDimension) is out of range")
    }
  }
}

/// One layer's experts: the router `[experts × d]`, and each expert's gate-up `[2ff × d]` and
/// down `[d × ff]` projections. Only the chosen experts' rows are ever read.
struct ExpertWeights: Sendable {
  var router: Linear
  var gateUp: [Linear]
  var down: [Linear]
}

/// The routing of a batch: per row, the chosen experts (best first) and their weights, and the
/// router's softmax over all experts (for the backward pass).
///
/// Ties: experts of equal probability are ranked by index, the lower first. transformers'
/// `torch.topk` documents no order among equal values; exact ties do not occur in fp32 routers
/// on real inputs, and this rule makes the choice deterministic.
struct Routing {
  let rows: Int
  let perToken: Int
  var experts: [Int]
  var weights: [Float]
  var probabilities: [Float]

  /// p = softmax(z) per row over the experts; the `k` largest p (ties to the lower index); their
  /// weights p, or p / Σ chosen p when `normalize`.
  init(logits: Matrix, perToken k: Int, normalize: Bool) {
    rows = logits.rows
    perToken = k
    let e = logits.cols
    experts = [Int](repeating: 0, count: rows * k)
    weights = [Float](repeating: 0, count: rows * k)
    probabilities = logits.storage
    for r in 0..<rows {
      let p = Array(probabilities[(r * e)..<((r + 1) * e)])
      let top = p.max() ?? 0
      var exps = p.map { expf($0 - top) }
      let sum = exps.reduce(0, +)
      for i in 0..<e { exps[i] /= sum }
      probabilities.replaceSubrange((r * e)..<((r + 1) * e), with: exps)
      // A NaN (from a NaN input) ranks last, so that the order stays a strict weak ordering.
      let rank = exps.map { $0.isNaN ? -Float.infinity : $0 }
      let order = (0..<e).sorted { rank[$0] != rank[$1] ? rank[$0] > rank[$1] : $0 < $1 }
      let chosen = order.prefix(k)
      let total = normalize ? chosen.reduce(Float(0)) { $0 + exps[$1] } : 1
      for (j, expert) in chosen.enumerated() {
        experts[r * k + j] = expert
        weights[r * k + j] = exps[expert] / total
      }
    }
  }

  /// The (row, slot) pairs routed to each expert, in row order.
  func assignments(expertCount: Int) -> [[(row: Int, slot: Int)]] {
    var out = Array(repeating: [(row: Int, slot: Int)](), count: expertCount)
    for r in 0..<rows {
      for j in 0..<perToken { out[experts[r * perToken + j]].append((r, j)) }
    }
    return out
  }
}

/// What the mixture's forward keeps for its backward: the routing, and per expert the rows it
/// ran, their gate-up pre-activations and the expert's (unweighted) outputs.
struct MixtureTrace {
  var routing: Routing
  var assignments: [[(row: Int, slot: Int)]]
  var gateUps: [Matrix]
  var outputs: [Matrix]
}

extension DecoderModel {
  /// y = Σ_chosen w_k · E_k(n) for every row of `normed`: the tokens are grouped by expert, so
  /// that each chosen expert's weights are expanded once per call for all its rows.
  func mixtureForward(
    _ w: ExpertWeights, moe: MixtureOfExperts, normed: Matrix, keep: Bool, gradientPass: Bool = false
  ) -> (output: Matrix, trace: MixtureTrace?) {
    let n = normed.rows
    let d = normed.cols
    let ff = moe.feedForwardDimension
    var logits = Matrix(rows: n, cols: moe.count)
    w.router.apply(normed, into: &logits)
    let routing = Routing(logits: logits, perToken: moe.perToken, normalize: moe.normalizesWeights)
    let assignments = routing.assignments(expertCount: moe.count)
    var output = Matrix(rows: n, cols: d)
    var gateUps = [Matrix](repeating: Matrix(rows: 0, cols: 0), count: keep ? moe.count : 0)
    var outputs = gateUps
    for (expert, routed) in assignments.enumerated() where !routed.isEmpty {
      let m = routed.count
      var rows = Matrix(rows: m, cols: d)
      for (i, a) in routed.enumerated() { rows.storage.replaceSubrange((i * d)..<((i + 1) * d), with: normed.row(a.row)) }
      var gateUp = Matrix(rows: m, cols: 2 * ff)
      w.gateUp[expert].apply(rows, into: &gateUp)
      var activated = Matrix(rows: m, cols: ff)
      gateUp.storage.withUnsafeBufferPointer { g in
        activated.storage.withUnsafeMutableBufferPointer { a in
          configuration.activation.forward(
            gateUp: g.baseAddress!, rows: m, width: ff, output: a.baseAddress!, fast: computePrecision == .int8)
        }
      }
      var expertOutput = Matrix(rows: m, cols: d)
      w.down[expert].apply(activated, into: &expertOutput, gradientPass: gradientPass)
      output.storage.withUnsafeMutableBufferPointer { y in
        expertOutput.storage.withUnsafeBufferPointer { e in
          for (i, a) in routed.enumerated() {
            Kernels.axpy(
              routing.weights[a.row * moe.perToken + a.slot], e.baseAddress! + i * d, y.baseAddress! + a.row * d, count: d)
          }
        }
      }
      if keep {
        gateUps[expert] = gateUp
        outputs[expert] = expertOutput
      }
    }
    let trace = keep ? MixtureTrace(routing: routing, assignments: assignments, gateUps: gateUps, outputs: outputs) : nil
    return (output, trace)
  }

  /// dL/dn from dL/dy, the reverse of `mixtureForward`: through each chosen expert (scaled by
  /// its weight), and through the router. With g_k = dy · E_k(n), the weights w = softmax of the
  /// chosen logits (normalised) give dz_k = w_k (g_k − Σ_j w_j g_j) on the chosen experts only;
  /// w_k = p_k of the softmax over all experts gives dz_i = p_i (g_i − Σ_chosen p_j g_j), g_i = 0
  /// for the others. The choice itself is piecewise constant and passes no gradient.
  func mixtureBackward(
    _ w: ExpertWeights, moe: MixtureOfExperts, trace t: MixtureTrace, gradient dy: Matrix
  ) -> Matrix {
    let n = dy.rows
    let d = dy.cols
    let ff = moe.feedForwardDimension
    let k = moe.perToken
    var gradNormed = Matrix(rows: n, cols: d)
    var g = [Float](repeating: 0, count: n * k)
    for (expert, routed) in t.assignments.enumerated() where !routed.isEmpty {
      let m = routed.count
      var weighted = Matrix(rows: m, cols: d)
      for (i, a) in routed.enumerated() {
        let weight = t.routing.weights[a.row * k + a.slot]
        let dyRow = dy.row(a.row)
        let e = t.outputs[expert].row(i)
        var dot: Float = 0
        for j in 0..<d {
          weighted.storage[i * d + j] = weight * dyRow[j]
          dot += dyRow[j] * e[j]
        }
        g[a.row * k + a.slot] = dot
      }
      var gradActivated = Matrix(rows: m, cols: ff)
      w.down[expert].applyTransposed(weighted, into: &gradActivated)
      let gradGateUp = configuration.activation.backward(gateUp: t.gateUps[expert], gradient: gradActivated)
      var gradRows = Matrix(rows: m, cols: d)
      w.gateUp[expert].applyTransposed(gradGateUp, into: &gradRows)
      for (i, a) in routed.enumerated() {
        for j in 0..<d { gradNormed.storage[a.row * d + j] += gradRows.storage[i * d + j] }
      }
    }
    // Through the router: dz (rows × experts), then dn += dz · W_router.
    var gradLogits = Matrix(rows: n, cols: moe.count)
    for r in 0..<n {
      let chosen = (0..<k).map { t.routing.experts[r * k + $0] }
      if moe.normalizesWeights {
        let mean = (0..<k).reduce(Float(0)) { $0 + t.routing.weights[r * k + $1] * g[r * k + $1] }
        for j in 0..<k { gradLogits.storage[r * moe.count + chosen[j]] = t.routing.weights[r * k + j] * (g[r * k + j] - mean) }
      } else {
        let p = Array(t.routing.probabilities[(r * moe.count)..<((r + 1) * moe.count)])
        var dp = [Float](repeating: 0, count: moe.count)
        for j in 0..<k { dp[chosen[j]] = g[r * k + j] }
        let mean = (0..<moe.count).reduce(Float(0)) { $0 + p[$1] * dp[$1] }
        for i in 0..<moe.count { gradLogits.storage[r * moe.count + i] = p[i] * (dp[i] - mean) }
      }
    }
    w.router.applyTransposed(gradLogits, into: &gradNormed, beta: 1)
    return gradNormed
  }
}
