/// Why a model could not be built from a file that parsed.
public enum ModelError: Error, Equatable, CustomStringConvertible {
  case missingKey(String)
  case wrongKeyType(key: String, expected: String)
  case unsupportedArchitecture(String, known: [String])
  case badCheckpoint(path: String, reason: String)
  case unsupportedTensorType(name: String, type: String)
  case invalidConfiguration(String)
  case missingTensor(String)
  case tensorShape(name: String, found: [Int], expected: [Int])
  case unsupportedTokenizer(String)
  case tokenOutOfRange(Int, vocabularySize: Int)
  case contextOverflow(needed: Int, limit: Int)
  case emptyInput(String)
  case nonFiniteLogits(generated: Int)

  public var description: String {
    switch self {
    case .missingKey(let key): "model metadata lacks '\(key)'"
    case .wrongKeyType(let key, let expected): "model metadata '\(key)' is not \(expected)"
    case .unsupportedArchitecture(let a, let known):
      "architecture '\(a)' is not supported (known: \(known.joined(separator: ", ")))"
    case .badCheckpoint(let path, let reason): "\(path): \(reason)"
    case .unsupportedTensorType(let name, let type): "tensor '\(name)' has type \(type), which is not supported"
    case .invalidConfiguration(let why): "invalid model configuration: \(why)"
    case .missingTensor(let name): "model file lacks tensor '\(name)'"
    case .tensorShape(let name, let found, let expected):
      "tensor '\(name)' has shape \(found), expected \(expected)"
    case .unsupportedTokenizer(let why): "unsupported tokenizer: \(why)"
    case .tokenOutOfRange(let id, let n): "token id \(id) is outside the vocabulary (0..<\(n))"
    case .emptyInput(let what): "empty input: \(what)"
    case .nonFiniteLogits(let n):
      "the logits for generated token \(n + 1) are not finite (NaN or infinite): the model's states overflowed; "
        + "if it is steered, lower the factor"
    case .contextOverflow(let needed, let limit): "sequence needs \(needed) positions; the model allows \(limit)"
    }
  }
}
