import Foundation

/// One-line JSON output for the CLI's `--json` flags: a typed value, keys sorted, slashes unescaped.
public enum JSONText {
  /// How the keys of the value's own fields are written.
  public enum KeyStyle: Sendable {
    /// Property names in snake_case (`bestFactor` as `best_factor`, `promptIds` as `prompt_ids`),
    /// so that output types need no coding keys. For types whose fields are the output's.
    case snakeCase
    /// Every key exactly as the value holds it: for data whose keys are the user's (a judge
    /// file's lines), which snake_case would rename (Foundation converts a top-level
    /// dictionary's keys too).
    case asWritten
  }

  public static func encode<T: Encodable>(_ value: T, keys: KeyStyle = .snakeCase) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if keys == .snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }
}
