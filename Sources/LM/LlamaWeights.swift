/// The weights of one transformer block, fused for fewer, larger matrix products.
///
/// Every matrix is `[out × in]` row-major (a GGUF tensor of dimensions `[in, out]`).
struct LlamaBlockWeights: Sendable {
  var attentionNorm: [Float]
  /// Rows: query (headCount·headDim), then key, then value (keyValueHeadCount·headDim each).
  var qkv: Linear
  var attentionOutput: Linear
  var feedForwardNorm: [Float]
  /// Rows: gate (ff), then up (ff).
  var gateUp: Linear
  var down: Linear
}

/// All weights of a Llama model: fp32, plus the quantized blocks where the file has them.
struct LlamaWeights: Sendable {
  /// The token embedding; also the output projection when that is tied.
  var embedding: Linear
  /// The output projection, or nil when it is tied to the embedding.
  var output: Linear?
  var finalNorm: [Float]
  var blocks: [LlamaBlockWeights]

  /// The vocabulary projection.
  var head: Linear { output ?? embedding }

  init(gguf: GGUFFile, configuration c: LlamaConfiguration) throws {
    func load(_ name: String, _ shape: [Int]) throws -> [Float] {
      let info = try gguf.tensor(name)
      guard info.dimensions == shape else {
        throw ModelError.tensorShape(name: name, found: info.dimensions, expected: shape)
      }
      return gguf.dequantize(info)
    }
    let d = c.modelDimension
    let ff = c.feedForwardDimension
    embedding = try Linear(gguf: gguf, [("token_embd.weight", c.vocabularySize)], inputs: d)
    output =
      gguf.tensors["output.weight"] == nil
      ? nil : try Linear(gguf: gguf, [("output.weight", c.vocabularySize)], inputs: d)
    finalNorm = try load("output_norm.weight", [d])
    blocks = try (0..<c.layerCount).map { l in
      let p = "blk.\(l)."
      return LlamaBlockWeights(
        attentionNorm: try load(p + "attn_norm.weight", [d]),
        qkv: try Linear(
          gguf: gguf,
          [
            (p + "attn_q.weight", c.queryDimension), (p + "attn_k.weight", c.keyValueDimension), (p + "attn_v.weight", c.keyValueDimension),
          ],
          inputs: d),
        attentionOutput: try Linear(gguf: gguf, [(p + "attn_output.weight", d)], inputs: c.queryDimension),
        feedForwardNorm: try load(p + "ffn_norm.weight", [d]),
        gateUp: try Linear(gguf: gguf, [(p + "ffn_gate.weight", ff), (p + "ffn_up.weight", ff)], inputs: d),
        down: try Linear(gguf: gguf, [(p + "ffn_down.weight", d)], inputs: ff))
    }
  }
}
