import Foundation

/// One-line JSON output for the CLI, with stable key order.
public enum JSONText {
  public static func encode(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
  }
}
