import Foundation

/// One plain line for a JSON file that decoded wrongly, instead of `DecodingError`'s debug text
/// (`keyNotFound(CodingKeys(stringValue: …), Context(codingPath: …, debugDescription: …))`).
public func describeDecodingFailure(_ error: any Error) -> String {
  guard let error = error as? DecodingError else { return "\(error)" }
  func path(_ c: DecodingError.Context) -> String {
    let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    return p.isEmpty ? "the top level" : String(p.drop { $0 == "." })
  }
  switch error {
  case .keyNotFound(let key, let c):
    let at = c.codingPath.isEmpty ? "" : " in \(path(c))"
    return "the field '\(key.stringValue)' is missing\(at)"
  case .typeMismatch(let type, let c): return "\(path(c)) is not \(typeName(type))"
  case .valueNotFound(let type, let c): return "\(path(c)) is null, expected \(typeName(type))"
  case .dataCorrupted(let c):
    if c.codingPath.isEmpty { return "it is not valid JSON" }
    return "\(path(c)) is invalid: \(c.debugDescription)"
  @unknown default: return "\(error)"
  }
}

private func typeName(_ type: Any.Type) -> String {
  switch type {
  case is String.Type: "a string"
  case is Int.Type, is Int64.Type, is UInt64.Type: "an integer"
  case is Float.Type, is Double.Type: "a number"
  case is Bool.Type: "true or false"
  default:
    "\(type)".hasPrefix("Array") ? "a list" : "\(type)".hasPrefix("Dictionary") ? "an object" : "of type \(type)"
  }
}
