import Foundation
import LM

/// Import of llama.cpp and repeng control vectors (GGUF), the inverse of ``ControlVectorExport``.
///
/// Such a file has `general.architecture = controlvector` and one 1-D tensor `direction.N` per
/// steered layer. llama.cpp (`common_control_vector_load`, `llama_adapter_cvec`) adds
/// strength · direction.N to the output of 0-based block N at every position, and has no slot for
/// N = 0; repeng numbers its layers the same way. Tensors that name the same layer are summed, as
/// llama.cpp does. Unlike llama.cpp, which drops a layer beyond the model without a word, every
/// mismatch with the model is an error here.
public enum ControlVectorImport {
  /// True when the file starts with GGUF's magic, i.e. it is not a JSON steering file.
  public static func isGGUF(_ path: String) -> Bool {
    // Only a regular file is opened: opening a FIFO without a writer would wait forever.
    guard SteeringFile.isRegularFile(path), let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    return (try? handle.read(upToCount: 4)) == Data("GGUF".utf8)
  }

  /// The file's directions by layer, validated against a model of `layerCount` blocks of width
  /// `dimension`.
  public static func directions(path: String, layerCount: Int, dimension: Int) throws -> [Int: [Float]] {
    try read(path: path, layerCount: layerCount, dimension: dimension).directions
  }

  /// The directions and the file's `controlvector.model_hint`, from one read of the file.
  private static func read(path: String, layerCount: Int, dimension: Int) throws -> (directions: [Int: [Float]], hint: String?) {
    func fail(_ reason: String) -> SteeringFileError { .malformed(path: path, reason: reason) }
    let file: GGUFFile
    do { file = try GGUFFile(path: path) } catch { throw fail("\(error)") }
    let architecture = file.metadata["general.architecture"]?.string ?? "(none)"
    guard architecture == "controlvector" else {
      throw fail("general.architecture is '\(architecture)', not 'controlvector'; is this a model rather than a control vector?")
    }
    guard !file.tensorOrder.isEmpty else { throw fail("the control vector holds no direction tensors") }
    var sums: [Int: [Float]] = [:]
    for name in file.tensorOrder {
      let info = try file.tensor(name)
      let layer = try layerIndex(name, fail: fail)
      guard [.f32, .f16, .bf16].contains(info.type) else {
        throw fail("\(name) has type \(info.type); a control vector holds F32 (or F16/BF16) directions")
      }
      guard info.dimensions.count == 1 else { throw fail("\(name) has shape \(info.dimensions); a direction is one vector") }
      guard info.elementCount == dimension else {
        throw fail("\(name) has \(info.elementCount) values, but the model's dimension is \(dimension)")
      }
      guard layer < layerCount else {
        throw fail("\(name) steers layer \(layer), beyond the model's \(layerCount) layers (0–\(layerCount - 1))")
      }
      let values = file.dequantize(info)
      guard values.allSatisfy(\.isFinite) else { throw fail("\(name) holds NaN or infinite values") }
      sums[layer] = zip(sums[layer] ?? [Float](repeating: 0, count: dimension), values).map { $0 + $1 }
    }
    return (sums, file.metadata["controlvector.model_hint"]?.string)
  }

  /// A steering file of kind `control-vector` for `model`: one vector per layer, applied at every
  /// position with α = 1, recording the model's fingerprint and where the vector came from.
  public static func steeringFile(path: String, for model: DecoderModel) throws -> SteeringFile {
    let c = model.configuration
    let (directions, hint) = try read(path: path, layerCount: c.layerCount, dimension: c.modelDimension)
    var file = try SteeringFile(kind: .controlVector, for: model)
    file.vectors = directions.keys.sorted().map { VectorEntry(layer: $0, positions: .all, alpha: 1, vector: directions[$0]!) }
    file.training = [
      "imported_from": .string(path), "source_format": .string("llama.cpp control vector (GGUF)"),
    ]
    if let hint { file.training["model_hint"] = .string(hint) }
    return file
  }

  /// N of `direction.N`: decimal digits only (llama.cpp's stoi would also take "1abc").
  private static func layerIndex(_ name: String, fail: (String) -> SteeringFileError) throws -> Int {
    let prefix = "direction."
    let digits = name.hasPrefix(prefix) ? name.dropFirst(prefix.count) : ""
    guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy(\.isASCII), let layer = Int(digits), layer >= 0 else {
      throw fail("tensor '\(name)' is not named direction.N with N a layer number")
    }
    guard layer > 0 else {
      throw fail("direction.0: llama.cpp's control vectors start at layer 1 (the output of block 1) and refuse layer 0")
    }
    return layer
  }
}

extension SteeringFile {
  /// Loads a JSON steering file, or imports a llama.cpp/repeng control vector (GGUF) for `model`;
  /// either way the result is checked against the model.
  public static func load(_ path: String, for model: DecoderModel) throws -> SteeringFile {
    if ControlVectorImport.isGGUF(path) { return try ControlVectorImport.steeringFile(path: path, for: model) }
    return try load(path)
  }
}
