import Foundation
import LM
import Tensor

/// all-MiniLM-L6-v2 and kin: a BERT encoder with mean pooling over tokens and L2
/// normalisation, so that the dot product of two embeddings is their cosine similarity.
///
/// Texts are packed like the LM's batches: one GEMM per projection for all texts, and
/// attention within each text (bidirectional, no padding).
public final class SentenceEncoder: Sendable {
  struct Layer {
    var qkv: [Float]  // [3h × h]
    var qkvBias: [Float]
    var output: [Float]
    var outputBias: [Float]
    var norm1: (weight: [Float], bias: [Float])
    var intermediate: [Float]
    var intermediateBias: [Float]
    var down: [Float]
    var downBias: [Float]
    var norm2: (weight: [Float], bias: [Float])
  }

  public let tokenizer: WordPieceTokenizer
  /// The weights file, for fingerprints.
  public let weightsPath: String
  public let hidden: Int
  public let heads: Int
  public let maxLength: Int
  let wordEmbeddings: [Float]
  let positionEmbeddings: [Float]
  let typeEmbedding: [Float]
  let embeddingNorm: (weight: [Float], bias: [Float])
  let layers: [Layer]
  let intermediateSize: Int
  let epsilon: Float = 1e-12

  /// Loads `model.safetensors` and `tokenizer.json` from `directory`.
  public init(directory: String, heads: Int = 12, maxLength: Int = 256) throws {
    let weightsPath = directory + "/model.safetensors"
    let tokenizerPath = directory + "/tokenizer.json"
    for p in [weightsPath, tokenizerPath] where !FileManager.default.fileExists(atPath: p) { throw EmbeddingError.missingFile(p) }
    let file = try SafetensorsFile(path: weightsPath)
    self.weightsPath = weightsPath
    tokenizer = try WordPieceTokenizer(tokenizerJSON: tokenizerPath)
    guard let shape = file.entries["embeddings.word_embeddings.weight"]?.shape, shape.count == 2 else {
      throw SafetensorsError.missingTensor("embeddings.word_embeddings.weight")
    }
    let h = shape[1]
    guard h > 0, h % heads == 0 else {
      throw SafetensorsError.shape(name: "embeddings.word_embeddings.weight", found: shape, expected: [shape[0], heads])
    }
    guard shape[0] == tokenizer.vocabulary.count else {
      throw SafetensorsError.shape(
        name: "embeddings.word_embeddings.weight", found: shape, expected: [tokenizer.vocabulary.count, h])
    }
    hidden = h
    self.heads = heads
    // Every position up to maxLength needs a row.
    guard let positions = file.entries["embeddings.position_embeddings.weight"]?.shape, positions.count == 2, positions[1] == h,
      positions[0] >= 2
    else { throw SafetensorsError.shape(name: "embeddings.position_embeddings.weight", found: [], expected: [maxLength, h]) }
    self.maxLength = min(maxLength, positions[0])
    wordEmbeddings = try file.floats("embeddings.word_embeddings.weight")
    positionEmbeddings = try file.floats("embeddings.position_embeddings.weight", shape: positions)
    guard let types = file.entries["embeddings.token_type_embeddings.weight"]?.shape, types.count == 2, types[0] >= 1, types[1] == h
    else { throw SafetensorsError.shape(name: "embeddings.token_type_embeddings.weight", found: [], expected: [2, h]) }
    typeEmbedding = Array(try file.floats("embeddings.token_type_embeddings.weight", shape: types).prefix(h))
    embeddingNorm = (try file.floats("embeddings.LayerNorm.weight", shape: [h]), try file.floats("embeddings.LayerNorm.bias", shape: [h]))
    var layers: [Layer] = []
    var l = 0
    var intermediateSize = 0
    while file.entries["encoder.layer.\(l).attention.self.query.weight"] != nil {
      let p = "encoder.layer.\(l)."
      let inter = file.entries[p + "intermediate.dense.weight"]?.shape.first ?? 0
      guard inter > 0 else { throw SafetensorsError.missingTensor(p + "intermediate.dense.weight") }
      intermediateSize = inter
      layers.append(
        Layer(
          qkv: try file.floats(p + "attention.self.query.weight", shape: [h, h])
            + file.floats(p + "attention.self.key.weight", shape: [h, h])
            + file.floats(p + "attention.self.value.weight", shape: [h, h]),
          qkvBias: try file.floats(p + "attention.self.query.bias", shape: [h])
            + file.floats(p + "attention.self.key.bias", shape: [h]) + file.floats(p + "attention.self.value.bias", shape: [h]),
          output: try file.floats(p + "attention.output.dense.weight", shape: [h, h]),
          outputBias: try file.floats(p + "attention.output.dense.bias", shape: [h]),
          norm1: (
            try file.floats(p + "attention.output.LayerNorm.weight", shape: [h]),
            try file.floats(p + "attention.output.LayerNorm.bias", shape: [h])
          ),
          intermediate: try file.floats(p + "intermediate.dense.weight", shape: [inter, h]),
          intermediateBias: try file.floats(p + "intermediate.dense.bias", shape: [inter]),
          down: try file.floats(p + "output.dense.weight", shape: [h, inter]),
          downBias: try file.floats(p + "output.dense.bias", shape: [h]),
          norm2: (try file.floats(p + "output.LayerNorm.weight", shape: [h]), try file.floats(p + "output.LayerNorm.bias", shape: [h]))))
      l += 1
    }
    guard !layers.isEmpty else { throw SafetensorsError.missingTensor("encoder.layer.0.attention.self.query.weight") }
    self.layers = layers
    self.intermediateSize = intermediateSize
  }

  /// Unit-length embeddings of `texts`, in order; encoded in packed batches of about
  /// `batchTokens` tokens.
  public func embed(_ texts: [String], batchTokens: Int = 2048) -> [[Float]] {
    let ids = texts.map { tokenizer.encode($0, maxLength: maxLength) }
    var out: [[Float]] = []
    var start = 0
    while start < ids.count {
      var end = start
      var tokens = 0
      while end < ids.count && (end == start || tokens + ids[end].count <= batchTokens) {
        tokens += ids[end].count
        end += 1
      }
      out += encode(Array(ids[start..<end]))
      start = end
    }
    return out
  }

  /// Cosine similarity of two unit vectors.
  public static func similarity(_ a: [Float], _ b: [Float]) -> Float { Kernels.dot(a, b, count: min(a.count, b.count)) }

  private func encode(_ batch: [[Int]]) -> [[Float]] {
    let h = hidden
    let n = batch.reduce(0) { $0 + $1.count }
    var ranges: [Range<Int>] = []
    var x = Matrix(rows: n, cols: h)
    var row = 0
    for ids in batch {
      ranges.append(row..<(row + ids.count))
      for (p, id) in ids.enumerated() {
        for i in 0..<h {
          x[row, i] = wordEmbeddings[id * h + i] + positionEmbeddings[p * h + i] + typeEmbedding[i]
        }
        row += 1
      }
    }
    layerNorm(&x, embeddingNorm)
    for layer in layers { block(layer, &x, ranges) }
    return ranges.map { r in
      var mean = [Float](repeating: 0, count: h)
      for t in r { for i in 0..<h { mean[i] += x[t, i] } }
      let norm = max(mean.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
      return mean.map { $0 / norm }
    }
  }

  private func block(_ layer: Layer, _ x: inout Matrix, _ ranges: [Range<Int>]) {
    let h = hidden
    let n = x.rows
    let hd = h / heads
    var qkv = Matrix(rows: n, cols: 3 * h)
    linear(x, layer.qkv, layer.qkvBias, into: &qkv)
    var context = Matrix(rows: n, cols: h)
    let scale = 1 / Float(hd).squareRoot()
    qkv.storage.withUnsafeBufferPointer { q in
      context.storage.withUnsafeMutableBufferPointer { c in
        for r in ranges {
          let m = r.count
          var scores = [Float](repeating: 0, count: m * m)
          for head in 0..<heads {
            let base = q.baseAddress! + r.lowerBound * 3 * h
            scores.withUnsafeMutableBufferPointer { s in
              BLAS.gemm(
                m: m, n: m, k: hd, a: base + head * hd, lda: 3 * h, b: base + h + head * hd, ldb: 3 * h, transposeB: true,
                c: s.baseAddress!, alpha: scale)
              for i in 0..<m { Kernels.softmax(s.baseAddress! + i * m, count: m) }
              BLAS.gemm(
                m: m, n: hd, k: m, a: s.baseAddress!, b: base + 2 * h + head * hd, ldb: 3 * h, transposeB: false,
                c: c.baseAddress! + r.lowerBound * h + head * hd, ldc: h)
            }
          }
        }
      }
    }
    var attention = Matrix(rows: n, cols: h)
    linear(context, layer.output, layer.outputBias, into: &attention)
    for i in 0..<(n * h) { attention.storage[i] += x.storage[i] }
    layerNorm(&attention, layer.norm1)
    x = attention
    var inter = Matrix(rows: n, cols: intermediateSize)
    linear(x, layer.intermediate, layer.intermediateBias, into: &inter)
    for i in 0..<inter.storage.count {
      let v = inter.storage[i]
      inter.storage[i] = 0.5 * v * (1 + erff(v / 2.0.squareRoot().float))
    }
    var out = Matrix(rows: n, cols: h)
    linear(inter, layer.down, layer.downBias, into: &out)
    for i in 0..<(n * h) { out.storage[i] += x.storage[i] }
    layerNorm(&out, layer.norm2)
    x = out
  }

  private func linear(_ x: Matrix, _ weight: [Float], _ bias: [Float], into y: inout Matrix) {
    for r in 0..<x.rows { for j in 0..<y.cols { y[r, j] = bias[j] } }
    BLAS.gemm(m: x.rows, n: y.cols, k: x.cols, a: x.storage, b: weight, transposeB: true, c: &y.storage, beta: 1)
  }

  private func layerNorm(_ x: inout Matrix, _ p: (weight: [Float], bias: [Float])) {
    let h = x.cols
    for r in 0..<x.rows {
      var mean: Float = 0
      for i in 0..<h { mean += x[r, i] }
      mean /= Float(h)
      var variance: Float = 0
      for i in 0..<h { variance += (x[r, i] - mean) * (x[r, i] - mean) }
      let inv = 1 / (variance / Float(h) + epsilon).squareRoot()
      for i in 0..<h { x[r, i] = (x[r, i] - mean) * inv * p.weight[i] + p.bias[i] }
    }
  }
}

extension Double {
  fileprivate var float: Float { Float(self) }
}
