/// A checkpoint's tensors under their GGUF names, with dimensions in GGUF order (the
/// fastest-varying first, so a projection is `[in, out]`). GGUF files are one; a Hugging Face
/// directory of safetensors is another, its names and shapes mapped on open.
protocol TensorSource: AnyObject, Sendable {
  /// What errors name: the file or directory.
  var sourcePath: String { get }
  /// The tensor of this name, or `ModelError.missingTensor`.
  func tensor(_ name: String) throws -> GGUFTensorInfo
  func hasTensor(_ name: String) -> Bool
  /// The tensor's elements as fp32, in storage order.
  func dequantize(_ info: GGUFTensorInfo) -> [Float]
  /// The raw bytes of the tensor, valid while the source lives.
  func tensorData(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer
}

extension GGUFFile: TensorSource {
  var sourcePath: String { path }
  func hasTensor(_ name: String) -> Bool { tensors[name] != nil }
}
