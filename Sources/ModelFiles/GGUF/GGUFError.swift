/// Why a GGUF file could not be read. Every case names the file region or field at fault.
public indirect enum GGUFError: Error, Equatable, CustomStringConvertible {
  /// Any of the others, in the file at `path`.
  case inFile(path: String, GGUFError)
  case nestedArray(key: String)
  case cannotOpen(path: String, reason: String)
  case badMagic(found: [UInt8])
  case unsupportedVersion(UInt32)
  case truncated(field: String, offset: Int, fileSize: Int)
  case invalidValueType(key: String, type: UInt32)
  case invalidString(field: String, offset: Int)
  case implausibleCount(field: String, count: UInt64)
  case invalidAlignment(UInt64)
  case duplicateKey(String)
  case duplicateTensor(String)
  case invalidTensorShape(name: String, dimensions: [UInt64])
  case unsupportedTensorType(name: String, type: UInt32)
  case misalignedTensor(name: String, offset: UInt64)
  case tensorOutOfBounds(name: String, offset: UInt64, bytes: UInt64, dataSize: Int)
  case blockMisfit(name: String, elements: Int, blockSize: Int)
  case overlappingTensors(String, String)

  public var description: String {
    switch self {
    case .inFile(let path, let error): "\(path): \(error)"
    case .nestedArray(let key): "metadata key '\(key)' is an array of arrays, which GGUF readers refuse"
    case .cannotOpen(let path, let reason): "cannot open \(path): \(reason)"
    case .badMagic(let found): "not a GGUF file: magic bytes are \(found), expected \"GGUF\""
    case .unsupportedVersion(let v): "GGUF version \(v) is not supported (only 2 and 3)"
    case .truncated(let field, let offset, let size):
      "GGUF file is truncated: \(field) at byte \(offset) runs past the end (\(size) bytes)"
    case .invalidValueType(let key, let type): "metadata key '\(key)' has unknown value type \(type)"
    case .invalidString(let field, let offset): "\(field) at byte \(offset) is not valid UTF-8"
    case .implausibleCount(let field, let count): "\(field) is \(count), more than the file could hold"
    case .invalidAlignment(let a): "general.alignment is \(a); it must be a power of two"
    case .duplicateKey(let key): "metadata key '\(key)' appears twice"
    case .duplicateTensor(let name): "tensor '\(name)' appears twice"
    case .invalidTensorShape(let name, let dims): "tensor '\(name)' has an invalid shape \(dims)"
    case .unsupportedTensorType(let name, let type): "tensor '\(name)' has unsupported type \(type)"
    case .misalignedTensor(let name, let offset): "tensor '\(name)' starts at misaligned offset \(offset)"
    case .tensorOutOfBounds(let name, let offset, let bytes, let size):
      "tensor '\(name)' (\(bytes) bytes at data offset \(offset)) runs past the tensor data (\(size) bytes)"
    case .blockMisfit(let name, let elements, let blockSize):
      "tensor '\(name)' rows of \(elements) elements do not fill whole blocks of \(blockSize)"
    case .overlappingTensors(let a, let b):
      "tensors '\(a)' and '\(b)' share bytes of the tensor data; an offset, shape or type is wrong"
    }
  }
}
