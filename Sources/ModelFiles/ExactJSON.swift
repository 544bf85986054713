import Foundation

/// A JSON document whose objects keep their members in file order with the keys exactly as
/// written. A vocabulary must not pass through `[String: Any]`: `String` hashing is canonical
/// equivalence, so "é" and "e\u{301}", two tokens, would become one key.
///
/// The reader checks the whole grammar, decodes `\u` escapes (surrogate pairs included), refuses
/// invalid UTF-8 and nesting deeper than `maxDepth`, and never reads past the end.
public indirect enum ExactJSON: Sendable {
  case object([(key: String, value: ExactJSON)])
  case array([ExactJSON])
  case string(String)
  case integer(Int)
  case number(Double)
  case bool(Bool)
  case null

  public struct SyntaxError: Error, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
  }

  public static func parse(_ bytes: [UInt8], maxDepth: Int = 128) throws -> ExactJSON {
    var reader = Reader(bytes: bytes, maxDepth: maxDepth)
    let value = try reader.value(depth: 0)
    reader.skipSpace()
    guard reader.offset == bytes.count else { throw reader.error("text after the value") }
    return value
  }

  /// The members of an object, in file order; nil for any other value.
  public var members: [(key: String, value: ExactJSON)]? {
    if case .object(let m) = self { return m }
    return nil
  }

  /// Foundation's form (`[String: Any]`, `[Any]`, `String`, `Int`, `Double`, `Bool`, `NSNull`), for
  /// parts whose keys are field names, never vocabulary entries.
  public var foundation: Any {
    switch self {
    case .object(let members):
      var out: [String: Any] = [:]
      for (key, value) in members { out[key] = value.foundation }
      return out
    case .array(let items): return items.map(\.foundation)
    case .string(let s): return s
    case .integer(let i): return i
    case .number(let d): return d
    case .bool(let b): return b
    case .null: return NSNull()
    }
  }

  private struct Reader {
    let bytes: [UInt8]
    let maxDepth: Int
    var offset = 0

    init(bytes: [UInt8], maxDepth: Int) {
      self.bytes = bytes
      self.maxDepth = maxDepth
    }

    func error(_ reason: String) -> SyntaxError { SyntaxError(offset: offset, reason: reason) }

    mutating func skipSpace() {
      while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
    }

    mutating func expect(_ literal: String) throws {
      let l = Array(literal.utf8)
      guard bytes.count - offset >= l.count, bytes[offset..<offset + l.count].elementsEqual(l) else {
        throw error("expected \(literal)")
      }
      offset += l.count
    }

    mutating func value(depth: Int) throws -> ExactJSON {
      guard depth < maxDepth else { throw error("nested deeper than \(maxDepth)") }
      skipSpace()
      guard offset < bytes.count else { throw error("unexpected end") }
      switch bytes[offset] {
      case UInt8(ascii: "{"):
        offset += 1
        var members: [(key: String, value: ExactJSON)] = []
        skipSpace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
          offset += 1
          return .object(members)
        }
        while true {
          skipSpace()
          let key = try string()
          skipSpace()
          try expect(":")
          members.append((key, try value(depth: depth + 1)))
          skipSpace()
          guard offset < bytes.count else { throw error("unterminated object") }
          offset += 1
          if bytes[offset - 1] == UInt8(ascii: "}") { return .object(members) }
          guard bytes[offset - 1] == UInt8(ascii: ",") else { throw error("expected , or } in an object") }
        }
      case UInt8(ascii: "["):
        offset += 1
        var items: [ExactJSON] = []
        skipSpace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
          offset += 1
          return .array(items)
        }
        while true {
          items.append(try value(depth: depth + 1))
          skipSpace()
          guard offset < bytes.count else { throw error("unterminated array") }
          offset += 1
          if bytes[offset - 1] == UInt8(ascii: "]") { return .array(items) }
          guard bytes[offset - 1] == UInt8(ascii: ",") else { throw error("expected , or ] in an array") }
        }
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"):
        try expect("true")
        return .bool(true)
      case UInt8(ascii: "f"):
        try expect("false")
        return .bool(false)
      case UInt8(ascii: "n"):
        try expect("null")
        return .null
      default: return try number()
      }
    }

    mutating func number() throws -> ExactJSON {
      let start = offset
      func digits(_ r: inout Reader) -> Int {
        let s = r.offset
        while r.offset < r.bytes.count, (0x30...0x39).contains(r.bytes[r.offset]) { r.offset += 1 }
        return r.offset - s
      }
      if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") { offset += 1 }
      guard digits(&self) > 0 else { throw error("expected a value") }
      var integral = true
      if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
        offset += 1
        integral = false
        guard digits(&self) > 0 else { throw error("expected digits after .") }
      }
      if offset < bytes.count, bytes[offset] | 0x20 == UInt8(ascii: "e") {
        offset += 1
        integral = false
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard digits(&self) > 0 else { throw error("expected an exponent") }
      }
      let text = String(decoding: bytes[start..<offset], as: UTF8.self)
      if integral, let i = Int(text) { return .integer(i) }
      guard let d = Double(text), d.isFinite else { throw error("number \(text) is out of range") }
      return .number(d)
    }

    mutating func string() throws -> String {
      guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw error("expected a string") }
      offset += 1
      var out: [UInt8] = []
      while true {
        guard offset < bytes.count else { throw error("unterminated string") }
        let b = bytes[offset]
        offset += 1
        switch b {
        case UInt8(ascii: "\""):
          guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
          return s
        case UInt8(ascii: "\\"):
          guard offset < bytes.count else { throw error("unterminated escape") }
          let e = bytes[offset]
          offset += 1
          switch e {
          case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
          case UInt8(ascii: "b"): out.append(0x08)
          case UInt8(ascii: "f"): out.append(0x0C)
          case UInt8(ascii: "n"): out.append(0x0A)
          case UInt8(ascii: "r"): out.append(0x0D)
          case UInt8(ascii: "t"): out.append(0x09)
          case UInt8(ascii: "u"): out += try escapedScalar()
          default: throw error("unknown escape \\\(Character(UnicodeScalar(e)))")
          }
        case 0..<0x20: throw error("control character in a string")
        default: out.append(b)
        }
      }
    }

    mutating func hex4() throws -> UInt32 {
      guard bytes.count - offset >= 4, let v = UInt32(String(decoding: bytes[offset..<offset + 4], as: UTF8.self), radix: 16)
      else { throw error("\\u needs four hex digits") }
      offset += 4
      return v
    }

    /// The UTF-8 bytes of a `\uXXXX` escape (the `\u` read), joining a surrogate pair.
    mutating func escapedScalar() throws -> [UInt8] {
      var v = try hex4()
      if (0xD800..<0xDC00).contains(v) {
        try expect("\\u")
        let low = try hex4()
        guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate") }
        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
      }
      guard let scalar = UnicodeScalar(v) else { throw error("unpaired surrogate") }
      return Array(String(Character(scalar)).utf8)
    }
  }
}
