import LM

/// How a report shows one token: its text where its bytes are whole UTF-8, and its bytes as
/// `\xNN` where they are not (a character split across tokens, as byte-level BPE does with emoji
/// and many CJK characters), so that no token reads as a row of replacement characters.
public enum TokenText {
  /// The text of token `id` of `tokenizer`, control tokens included.
  public static func of(_ id: Int, _ tokenizer: any Tokenizer) -> String { show(tokenizer.decodeBytes([id], skipSpecial: false)) }

  /// `bytes` as text, each byte that is not part of a whole UTF-8 character written `\xNN`.
  public static func show(_ bytes: [UInt8]) -> String {
    var out = ""
    var i = 0
    while i < bytes.count {
      let length = sequenceLength(bytes[i])
      if length > 0, i + length <= bytes.count, let s = String(validating: bytes[i..<(i + length)], as: UTF8.self) {
        out += s
        i += length
      } else {
        out += "\\x" + String(bytes[i], radix: 16, uppercase: true).leftPadded(to: 2)
        i += 1
      }
    }
    return out
  }

  /// The length of the UTF-8 sequence a lead byte starts; 0 for a byte that cannot start one.
  static func sequenceLength(_ lead: UInt8) -> Int {
    switch lead {
    case 0x00...0x7F: 1
    case 0xC2...0xDF: 2
    case 0xE0...0xEF: 3
    case 0xF0...0xF4: 4
    default: 0
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
