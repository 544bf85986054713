import Foundation

/// JSON Lines, read with Codable: the one reader of the project's line-oriented data files
/// (GSM8K, AxBench, AlpacaEval, capture inputs, training examples, gradient cases). Each reader
/// declares its line as a `Decodable` type and keeps its own message for a line that does not fit.
///
/// Lines are numbered as an editor numbers them (from 1, blank lines counted) and blank lines
/// (spaces, tabs, a carriage return) are skipped. Strings decode as JSONSerialization decoded them
/// (the same parser), so no reader changes what text it hands on.
public enum JSONLines {
  /// One non-blank line: its number, and its value or why it does not decode as `T`.
  public struct Line<T> {
    public var number: Int
    public var value: Result<T, Failure>
  }

  /// Why a line does not decode: describeDecodingFailure's plain sentence.
  public struct Failure: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
    public init(reason: String) { self.reason = reason }
  }

  /// Each non-blank line of `text` decoded as `T`.
  public static func decode<T: Decodable>(_ type: T.Type, from text: String) -> [Line<T>] {
    var out: [Line<T>] = []
    let decoder = JSONDecoder()
    // Split on the byte: as Characters, "\r\n" is one grapheme that is not "\n".
    for (i, raw) in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
      let line = raw.last == 0x0D ? Array(raw.dropLast()) : Array(raw)
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
      do {
        out.append(Line(number: i + 1, value: .success(try decoder.decode(T.self, from: Data(line)))))
      } catch {
        out.append(Line(number: i + 1, value: .failure(Failure(reason: describeDecodingFailure(error)))))
      }
    }
    return out
  }
}

extension KeyedDecodingContainer {
  /// The value under `key` if it is there and of type `T`, else nil: for fields a reader has always
  /// taken only when they have the right type (an AxBench line's optional `concept`).
  public func lenient<T: Decodable>(_ type: T.Type, forKey key: Key) -> T? {
    (try? decodeIfPresent(T.self, forKey: key)) ?? nil
  }
}
