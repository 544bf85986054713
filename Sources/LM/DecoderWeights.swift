import Tensor

/// The weights of one transformer block, fused for fewer, larger matrix products.
///
/// Every matrix is `[out × in]` row-major (a GGUF tensor of dimensions `[in, out]`). Norm
/// weights include the family's offset (Gemma's 1 + w), so every norm is a plain RMSNorm.
struct BlockWeights: Sendable {
  var attentionNorm: [Float]
  /// Rows: query (headCount·headDim), then key, then value (keyValueHeadCount·headDim each).
  var qkv: Linear
  /// Added to the `qkv` rows (Qwen2), in the same order.
  var qkvBias: [Float]?
  /// Per-head RMSNorm weights of queries and keys (Qwen3), `headDimension` each.
  var queryNorm: [Float]?
  var keyNorm: [Float]?
  var attentionOutput: Linear
  /// Norm of the attention output before the residual add (Gemma-2).
  var postAttentionNorm: [Float]?
  var feedForwardNorm: [Float]
  var feedForward: FeedForwardWeights
  /// Norm of the feed-forward output before the residual add (Gemma-2).
  var postFeedForwardNorm: [Float]?
}

/// A block's feed-forward: one gated block, or a mixture of experts.
enum FeedForwardWeights: Sendable {
  /// gateUp rows: gate (ff), then up (ff).
  case dense(gateUp: Linear, down: Linear)
  case mixture(ExpertWeights)

  var projections: [Linear] {
    switch self {
    case .dense(let gateUp, let down): [gateUp, down]
    case .mixture(let e): [e.router] + e.gateUp + e.down
    }
  }
}

/// All weights of a decoder: fp32, plus the quantized blocks where the file has them.
struct DecoderWeights: Sendable {
  /// The token embedding; also the output projection when that is tied.
  var embedding: Linear
  /// The output projection, or nil when it is tied to the embedding.
  var output: Linear?
  var finalNorm: [Float]
  var blocks: [BlockWeights]
  /// llama.cpp's `rope_freqs.weight`: per-pair divisors of the RoPE frequencies (Llama 3.1).
  var ropeFrequencyFactors: [Float]?
  /// LongRoPE's per-pair divisors within and beyond the original context, from a GGUF file's
  /// `rope_factors_short.weight` and `rope_factors_long.weight` (config.json has them as numbers).
  var ropeShortFactors: [Float]?
  var ropeLongFactors: [Float]?
  /// The file the projections' native rows point into, kept open while the weights live.
  let source: any TensorSource

  /// The vocabulary projection.
  var head: Linear { output ?? embedding }

  init(source: some TensorSource, configuration c: DecoderConfiguration, precision: WeightPrecision, compute: ComputePrecision = .fp32
  ) throws {
    self.source = source
    func load(_ name: String, _ shape: [Int]) throws -> [Float] {
      let info = try source.tensor(name)
      guard info.dimensions == shape else {
        throw ModelError.tensorShape(name: name, found: info.dimensions, expected: shape)
      }
      return source.dequantize(info)
    }
    func norm(_ name: String, _ width: Int) throws -> [Float] {
      let w = try load(name, [width])
      return c.normWeightOffset == 0 ? w : w.map { $0 + c.normWeightOffset }
    }
    func optionalNorm(_ name: String, _ width: Int, if needed: Bool) throws -> [Float]? {
      needed ? try norm(name, width) : nil
    }
    let d = c.modelDimension
    let ff = c.feedForwardDimension
    embedding = try Linear(gguf: source, [("token_embd.weight", c.vocabularySize)], inputs: d, precision: precision, compute: compute)
    output =
      source.hasTensor("output.weight")
      ? try Linear(gguf: source, [("output.weight", c.vocabularySize)], inputs: d, precision: precision, compute: compute) : nil
    finalNorm = try norm("output_norm.weight", d)
    func factors(_ name: String) throws -> [Float]? {
      source.hasTensor(name) ? try load(name, [c.headDimension / 2]) : nil
    }
    ropeFrequencyFactors = try factors("rope_freqs.weight")
    ropeShortFactors = try factors("rope_factors_short.weight")
    ropeLongFactors = try factors("rope_factors_long.weight")
    blocks = try (0..<c.layerCount).map { l in
      let p = "blk.\(l)."
      let bias: [Float]? =
        c.attentionBias
        ? try load(p + "attn_q.bias", [c.queryDimension]) + load(p + "attn_k.bias", [c.keyValueDimension])
          + load(p + "attn_v.bias", [c.keyValueDimension]) : nil
      return BlockWeights(
        attentionNorm: try norm(p + "attn_norm.weight", d),
        // Phi-3 stores the three projections as one tensor, whose rows are already in this order.
        qkv: try Linear(
          gguf: source,
          source.hasTensor(p + "attn_qkv.weight")
            ? [(p + "attn_qkv.weight", c.queryDimension + 2 * c.keyValueDimension)]
            : [
              (p + "attn_q.weight", c.queryDimension), (p + "attn_k.weight", c.keyValueDimension),
              (p + "attn_v.weight", c.keyValueDimension),
            ],
          inputs: d, precision: precision, compute: compute),
        qkvBias: bias,
        queryNorm: try optionalNorm(p + "attn_q_norm.weight", c.headDimension, if: c.queryKeyNorm),
        keyNorm: try optionalNorm(p + "attn_k_norm.weight", c.headDimension, if: c.queryKeyNorm),
        attentionOutput: try Linear(gguf: source, [(p + "attn_output.weight", d)], inputs: c.queryDimension, precision: precision, compute: compute),
        postAttentionNorm: try optionalNorm(p + "post_attention_norm.weight", d, if: c.sandwichNorms),
        feedForwardNorm: try norm(p + "ffn_norm.weight", d),
        feedForward: c.experts != nil
          ? .mixture(try ExpertWeights(source: source, layer: l, configuration: c, precision: precision, compute: compute))
          // Without a gate tensor, ffn_up holds the gate's rows then the up projection's (Phi-3).
          : .dense(
            gateUp: try Linear(
              gguf: source,
              source.hasTensor(p + "ffn_gate.weight")
                ? [(p + "ffn_gate.weight", ff), (p + "ffn_up.weight", ff)] : [(p + "ffn_up.weight", 2 * ff)],
              inputs: d, precision: precision, compute: compute),
            down: try Linear(gguf: source, [(p + "ffn_down.weight", d)], inputs: ff, precision: precision, compute: compute)),
        postFeedForwardNorm: try optionalNorm(p + "post_ffw_norm.weight", d, if: c.sandwichNorms))
    }
  }
}

extension ExpertWeights {
  /// Layer `l`'s router (`ffn_gate_inp`) and experts: rows of llama.cpp's stacked expert tensors
  /// (`ffn_{gate,up,down}_exps`, `[in, out, experts]`, quantized or not), else one tensor per
  /// expert (`ffn_gate.E.weight`, as older GGUF files and Hugging Face checkpoints have them).
  init(source: some TensorSource, layer l: Int, configuration c: DecoderConfiguration, precision: WeightPrecision, compute: ComputePrecision = .fp32
  ) throws {
    let moe = c.experts!
    let p = "blk.\(l)."
    let d = c.modelDimension
    let ff = moe.feedForwardDimension
    // The router stays fp32 under bf16: its logits pick experts, and a rounding that flips a
    // near-tie changes the layer's output outright (measured on the Mixtral fixture: gradient
    // cosine 0.81 with a bf16 router). It is a few hundred multiply-adds a token.
    router = try Linear(
      gguf: source, [(p + "ffn_gate_inp.weight", moe.count)], inputs: d, precision: precision,
      compute: compute == .bf16 ? .fp32 : compute)
    if source.hasTensor(p + "ffn_gate_exps.weight") {
      func stacked(_ name: String, rows: Int, inputs: Int) throws -> GGUFTensorInfo {
        let info = try source.tensor(p + name)
        guard info.dimensions == [inputs, rows, moe.count] else {
          throw ModelError.tensorShape(name: p + name, found: info.dimensions, expected: [inputs, rows, moe.count])
        }
        return info
      }
      let gate = try stacked("ffn_gate_exps.weight", rows: ff, inputs: d)
      let up = try stacked("ffn_up_exps.weight", rows: ff, inputs: d)
      let down = try stacked("ffn_down_exps.weight", rows: d, inputs: ff)
      gateUp = (0..<moe.count).map { e in
        Linear(source: source, slices: [(gate, e * ff, ff), (up, e * ff, ff)], inputs: d, precision: precision, compute: compute)
      }
      self.down = (0..<moe.count).map { e in Linear(source: source, slices: [(down, e * d, d)], inputs: ff, precision: precision, compute: compute) }
    } else {
      gateUp = try (0..<moe.count).map { e in
        try Linear(gguf: source, [(p + "ffn_gate.\(e).weight", ff), (p + "ffn_up.\(e).weight", ff)], inputs: d, precision: precision, compute: compute)
      }
      down = try (0..<moe.count).map { e in
        try Linear(gguf: source, [(p + "ffn_down.\(e).weight", d)], inputs: ff, precision: precision, compute: compute)
      }
    }
  }
}
