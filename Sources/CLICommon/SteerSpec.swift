/// `psr serve --steer FILE[:FACTOR]`: a steering file and the factor it steers with by default.
///
/// The factor is what follows the last `:` byte when that text is a number in Swift's `Float`
/// grammar; otherwise the whole entry is the path and the factor is 1, so `a:b.json` names a file.
/// A factor that parses but is not finite (`x:inf`, `x:1e99`) is refused rather than taken as part
/// of the path. `description` always prints the factor, so `parse(description)` is the identity
/// even for paths that hold a colon.
public struct SteerSpec: Equatable, Sendable, CustomStringConvertible {
  public let path: String
  public let factor: Float

  public init(path: String, factor: Float) {
    self.path = path
    self.factor = factor
  }

  public enum ParseError: Error, Equatable, CustomStringConvertible {
    case empty
    case infiniteFactor(String)

    public var description: String {
      switch self {
      case .empty: "--steer is empty; give FILE or FILE:FACTOR"
      case .infiniteFactor(let entry): "--steer \(entry): the factor must be a finite number"
      }
    }
  }

  public init(parsing entry: String) throws(ParseError) {
    // Bytes, not Characters: a path ending in a prepending mark (U+0600) would otherwise swallow
    // the colon into its grapheme cluster, and the printed form would not parse back.
    let bytes = Array(entry.utf8)
    if let colon = bytes.lastIndex(of: UInt8(ascii: ":")),
      let factor = Float(String(decoding: bytes[(colon + 1)...], as: UTF8.self))
    {
      guard factor.isFinite else { throw .infiniteFactor(entry) }
      guard colon > 0 else { throw .empty }
      self.init(path: String(decoding: bytes[..<colon], as: UTF8.self), factor: factor)
      return
    }
    guard !entry.isEmpty else { throw .empty }
    self.init(path: entry, factor: 1)
  }

  public var description: String { "\(path):\(factor)" }
}
