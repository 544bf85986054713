import LM

/// Random inputs for the property tests, from the project's own seeded SplitMix64 generator, so that a
/// failure names its case number and reproduces with the same seed (x-sheep/swift-property-based is a
/// Swift Testing library, and the test command runs XCTest only).
struct RandomInput {
  /// Every property test draws this many cases; the seed is fixed so CI sees the same cases each run.
  static let cases = 2000
  static let seed: UInt64 = 0x5EED_2026_1204

  var generator: SeededGenerator

  init(seed: UInt64 = RandomInput.seed) { generator = SeededGenerator(seed: seed) }

  mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
  mutating func bool() -> Bool { Bool.random(using: &generator) }
  mutating func pick<T>(_ choices: [T]) -> T { choices[int(0...(choices.count - 1))] }

  /// Any UInt64, with the edges (0, 2⁶³ − 1, 2⁶³, UInt64.max) drawn often.
  mutating func seed() -> UInt64 {
    if int(0...7) == 0 { return pick([0, 1, UInt64(Int64.max), UInt64(Int64.max) + 1, UInt64.max, UInt64.max - 1]) }
    return generator.next()
  }

  /// A Unicode scalar from a mix of ranges: ASCII (controls included), Latin, combining marks,
  /// prepending marks, CJK, emoji, the last plane; never a surrogate.
  mutating func scalar() -> Unicode.Scalar {
    let ranges: [ClosedRange<UInt32>] = [
      0x00...0x7F, 0x20...0x7E, 0xA0...0x24F, 0x300...0x36F, 0x600...0x605, 0x200B...0x200D, 0x4E00...0x4E40, 0x1F600...0x1F64F,
      0x10_FFF0...0x10_FFFD,
    ]
    let r = pick(ranges)
    return Unicode.Scalar(UInt32.random(in: r, using: &generator))!
  }

  /// Any UTF-8 string of up to `length` scalars.
  mutating func text(maxLength: Int = 24) -> String {
    var s = String.UnicodeScalarView()
    for _ in 0..<int(0...maxLength) { s.append(scalar()) }
    return String(s)
  }

  /// A string over `alphabet` (grammar characters, so that near-misses of a grammar are common),
  /// with a random scalar now and then.
  mutating func text(from alphabet: [String], maxLength: Int = 12) -> String {
    (0..<int(0...maxLength)).map { _ in int(0...15) == 0 ? String(scalar()) : pick(alphabet) }.joined()
  }
}
