import LM

/// Export of constant steering vectors as a llama.cpp control vector (GGUF):
/// `general.architecture = controlvector`, `controlvector.model_hint`,
/// `controlvector.layer_count`, and one F32 tensor `direction.N` per layer N holding α·v,
/// where N is the 0-based block whose output it is added to (llama.cpp skips N = 0).
/// `modelHint` is the llama.cpp architecture of the model (``ModelFamily/llamaCppArchitecture``).
public enum ControlVectorExport {
  public static func gguf(_ file: SteeringFile, modelHint: String = "llama", factor: Float = 1) throws -> GGUFWriter {
    guard file.gates.isEmpty else {
      throw SteeringFileError.notExportable("a \(file.kind.rawValue) file has token-dependent gates, not constant vectors")
    }
    guard (file.projections ?? []).isEmpty else {
      throw SteeringFileError.notExportable("projection edits depend on each state, and a control vector only adds a constant")
    }
    guard !file.vectors.isEmpty else { throw SteeringFileError.notExportable("the file holds no vectors") }
    var sums: [Int: [Float]] = [:]
    for v in file.vectors {
      guard v.positions == .all else {
        throw SteeringFileError.notExportable(
          "the vector at layer \(v.layer) applies to positions \(v.positions); a control vector applies everywhere")
      }
      guard v.layer >= 1 else { throw SteeringFileError.notExportable("llama.cpp control vectors cannot steer layer 0") }
      guard v.layer < file.model.layerCount else {
        throw SteeringFileError.notExportable("layer \(v.layer) is beyond the model's \(file.model.layerCount) layers")
      }
      let scaled = v.vector.map { $0 * v.alpha * file.alpha * factor }
      sums[v.layer] = zip(sums[v.layer] ?? [Float](repeating: 0, count: scaled.count), scaled).map { $0 + $1 }
    }
    var w = GGUFWriter()
    w.set("general.architecture", .string("controlvector"))
    w.set("controlvector.model_hint", .string(modelHint))
    w.set("controlvector.layer_count", .int32(Int32(sums.count)))
    for layer in sums.keys.sorted() {
      w.addTensor("direction.\(layer)", dimensions: [sums[layer]!.count], values: sums[layer]!)
    }
    return w
  }
}
