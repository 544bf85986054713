/// Finds stop strings in generated text as it grows, and says which bytes are safe to send: none
/// that could still turn out to begin a stop string, and no partial UTF-8 character.
public struct StopMatcher: Sendable {
  private let stops: [[UInt8]]
  private let holdBack: Int
  private var text: [UInt8] = []
  private var sent = 0
  /// Whether a stop string was found; the text ends before it.
  public private(set) var stopped = false

  public init(stops: [String]) {
    self.stops = stops.map { Array($0.utf8) }.filter { !$0.isEmpty }
    holdBack = max(0, (self.stops.map(\.count).max() ?? 0) - 1)
  }

  /// The text so far, cut before a stop string when one was found.
  public var completeText: [UInt8] { Array(text.prefix(stopped ? sent : text.count)) }

  /// Adds the bytes of a new token; returns the bytes now safe to send.
  public mutating func append(_ bytes: [UInt8]) -> [UInt8] {
    guard !stopped else { return [] }
    text += bytes
    let from = max(0, sent - holdBack)
    if let end = stops.compactMap({ firstIndex(of: $0, from: from) }).min() {
      stopped = true
      text.removeSubrange(end...)
      return release(upTo: end)
    }
    return release(upTo: characterBoundary(before: text.count - holdBack))
  }

  /// The bytes held back, when the generation ends without a stop string.
  public mutating func finish() -> [UInt8] { release(upTo: stopped ? sent : text.count) }

  private mutating func release(upTo end: Int) -> [UInt8] {
    guard end > sent else { return [] }
    defer { sent = end }
    return Array(text[sent..<end])
  }

  private func firstIndex(of needle: [UInt8], from start: Int) -> Int? {
    guard text.count >= needle.count, start <= text.count - needle.count else { return nil }
    for i in start...(text.count - needle.count) where text[i..<(i + needle.count)].elementsEqual(needle) { return i }
    return nil
  }

  /// The largest index ≤ `limit` (and ≥ what was sent) at which no UTF-8 character is split.
  private func characterBoundary(before limit: Int) -> Int {
    var i = min(limit, text.count)
    guard i > sent else { return sent }
    if i < text.count {
      while i > sent && text[i] & 0xC0 == 0x80 { i -= 1 }
      return i
    }
    // At the end: hold back a last character whose bytes have not all arrived.
    var j = i - 1
    while j > sent && text[j] & 0xC0 == 0x80 && i - j < 4 { j -= 1 }
    let lead = text[j]
    let length = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 1
    return j + length > i ? j : i
  }
}
