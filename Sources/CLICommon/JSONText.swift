import Foundation

/// One-line JSON output for the CLI's `--json` flags: a typed value, keys sorted, slashes unescaped.
///
/// Property names are written in snake_case (`bestFactor` as `best_factor`, `promptIDs` as
/// `prompt_ids`), so output types need no coding keys; dictionary keys and explicit coding keys
/// without capitals are written as they are.
public enum JSONText {
  public static func encode<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }
}
