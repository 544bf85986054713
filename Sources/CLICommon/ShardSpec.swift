/// `--shard i/N`: run every N-th unit starting from unit i (0 ≤ i < N).
///
/// Parsed exactly: two runs of 1–6 ASCII digits around one `/`, nothing else (no sign, no spaces,
/// no leading `+`). `description` prints `i/N`, which parses back to the same value.
public struct ShardSpec: Equatable, Sendable, CustomStringConvertible {
  public let index: Int
  public let count: Int

  /// More shards than this is a typo: a run has at most tens of thousands of units.
  public static let largestCount = 999_999

  public init?(index: Int, count: Int) {
    guard (1...Self.largestCount).contains(count), (0..<count).contains(index) else { return nil }
    self.index = index
    self.count = count
  }

  public init?(parsing text: String) {
    let parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
    guard parts.count == 2, let i = Self.digits(parts[0]), let n = Self.digits(parts[1]) else { return nil }
    self.init(index: i, count: n)
  }

  public var description: String { "\(index)/\(count)" }

  /// 1–6 ASCII digits as a number; anything else nil (so no input can overflow).
  static func digits(_ bytes: Substring.UTF8View.SubSequence) -> Int? {
    guard (1...6).contains(bytes.count), bytes.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
    return bytes.reduce(0) { $0 * 10 + Int($1 - 0x30) }
  }
}
