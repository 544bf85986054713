/// The fp32 weights of one transformer block, fused for fewer, larger matrix products.
///
/// Every matrix is `[out × in]` row-major (a GGUF tensor of dimensions `[in, out]`).
struct LlamaBlockWeights: Sendable {
  var attentionNorm: [Float]
  /// Rows: query (headCount·headDim), then key, then value (keyValueHeadCount·headDim each).
  var qkv: [Float]
  var attentionOutput: [Float]
  var feedForwardNorm: [Float]
  /// Rows: gate (ff), then up (ff).
  var gateUp: [Float]
  var down: [Float]
}

/// All weights of a Llama model, dequantized to fp32.
struct LlamaWeights: Sendable {
  var embedding: [Float]
  /// The output projection, or nil when it is tied to the embedding.
  var output: [Float]?
  var finalNorm: [Float]
  var blocks: [LlamaBlockWeights]

  init(gguf: GGUFFile, configuration c: LlamaConfiguration) throws {
    func load(_ name: String, _ shape: [Int]) throws -> [Float] {
      let info = try gguf.tensor(name)
      guard info.dimensions == shape else {
        throw ModelError.tensorShape(name: name, found: info.dimensions, expected: shape)
      }
      return gguf.dequantize(info)
    }
    let d = c.modelDimension
    embedding = try load("token_embd.weight", [d, c.vocabularySize])
    output = gguf.tensors["output.weight"] == nil ? nil : try load("output.weight", [d, c.vocabularySize])
    finalNorm = try load("output_norm.weight", [d])
    blocks = try (0..<c.layerCount).map { l in
      let p = "blk.\(l)."
      return LlamaBlockWeights(
        attentionNorm: try load(p + "attn_norm.weight", [d]),
        qkv: try load(p + "attn_q.weight", [d, c.queryDimension])
          + load(p + "attn_k.weight", [d, c.keyValueDimension])
          + load(p + "attn_v.weight", [d, c.keyValueDimension]),
        attentionOutput: try load(p + "attn_output.weight", [c.queryDimension, d]),
        feedForwardNorm: try load(p + "ffn_norm.weight", [d]),
        gateUp: try load(p + "ffn_gate.weight", [d, c.feedForwardDimension])
          + load(p + "ffn_up.weight", [d, c.feedForwardDimension]),
        down: try load(p + "ffn_down.weight", [c.feedForwardDimension, d]))
    }
  }
}
