/// Why a steering operation was refused.
public enum SteeringError: Error, Equatable, CustomStringConvertible {
  case invalidPositions(String)
  case dimensionMismatch(what: String, found: Int, expected: Int)
  case layerOutOfRange(Int, layerCount: Int)

  public var description: String {
    switch self {
    case .invalidPositions(let t): "positions '\(t)' are not one of all, response, pN, sN, pN+sM"
    case .dimensionMismatch(let what, let found, let expected): "\(what) has \(found) values, expected \(expected)"
    case .layerOutOfRange(let l, let n): "layer \(l) is out of range 0..<\(n)"
    }
  }
}
