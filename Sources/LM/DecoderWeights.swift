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
  /// Rows: gate (ff), then up (ff).
  var gateUp: Linear
  var down: Linear
  /// Norm of the feed-forward output before the residual add (Gemma-2).
  var postFeedForwardNorm: [Float]?
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
  /// The file the projections' native rows point into, kept open while the weights live.
  let source: any TensorSource

  /// The vocabulary projection.
  var head: Linear { output ?? embedding }

  init(source: some TensorSource, configuration c: DecoderConfiguration, precision: WeightPrecision) throws {
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
    embedding = try Linear(gguf: source, [("token_embd.weight", c.vocabularySize)], inputs: d, precision: precision)
    output =
      source.hasTensor("output.weight")
      ? try Linear(gguf: source, [("output.weight", c.vocabularySize)], inputs: d, precision: precision) : nil
    finalNorm = try norm("output_norm.weight", d)
    ropeFrequencyFactors = source.hasTensor("rope_freqs.weight") ? try load("rope_freqs.weight", [c.headDimension / 2]) : nil
    blocks = try (0..<c.layerCount).map { l in
      let p = "blk.\(l)."
      let bias: [Float]? =
        c.attentionBias
        ? try load(p + "attn_q.bias", [c.queryDimension]) + load(p + "attn_k.bias", [c.keyValueDimension])
          + load(p + "attn_v.bias", [c.keyValueDimension]) : nil
      return BlockWeights(
        attentionNorm: try norm(p + "attn_norm.weight", d),
        qkv: try Linear(
          gguf: source,
          [
            (p + "attn_q.weight", c.queryDimension), (p + "attn_k.weight", c.keyValueDimension), (p + "attn_v.weight", c.keyValueDimension),
          ],
          inputs: d, precision: precision),
        qkvBias: bias,
        queryNorm: try optionalNorm(p + "attn_q_norm.weight", c.headDimension, if: c.queryKeyNorm),
        keyNorm: try optionalNorm(p + "attn_k_norm.weight", c.headDimension, if: c.queryKeyNorm),
        attentionOutput: try Linear(gguf: source, [(p + "attn_output.weight", d)], inputs: c.queryDimension, precision: precision),
        postAttentionNorm: try optionalNorm(p + "post_attention_norm.weight", d, if: c.sandwichNorms),
        feedForwardNorm: try norm(p + "ffn_norm.weight", d),
        gateUp: try Linear(gguf: source, [(p + "ffn_gate.weight", ff), (p + "ffn_up.weight", ff)], inputs: d, precision: precision),
        down: try Linear(gguf: source, [(p + "ffn_down.weight", d)], inputs: ff, precision: precision),
        postFeedForwardNorm: try optionalNorm(p + "post_ffw_norm.weight", d, if: c.sandwichNorms))
    }
  }
}
