/// A metadata value of a GGUF file.
public enum GGUFValue: Equatable, Sendable {
  case uint8(UInt8)
  case int8(Int8)
  case uint16(UInt16)
  case int16(Int16)
  case uint32(UInt32)
  case int32(Int32)
  case uint64(UInt64)
  case int64(Int64)
  case float32(Float)
  case float64(Double)
  case bool(Bool)
  case string(String)
  case array([GGUFValue])

  /// The value of a bool.
  public var bool: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  /// The value as an integer, for any integer type (and bool).
  public var int: Int? {
    switch self {
    case .uint8(let v): Int(v)
    case .int8(let v): Int(v)
    case .uint16(let v): Int(v)
    case .int16(let v): Int(v)
    case .uint32(let v): Int(v)
    case .int32(let v): Int(v)
    case .uint64(let v): Int(exactly: v)
    case .int64(let v): Int(v)
    case .bool(let v): v ? 1 : 0
    default: nil
    }
  }

  /// The value as a floating-point number, for float and integer types.
  public var double: Double? {
    switch self {
    case .float32(let v): Double(v)
    case .float64(let v): v
    default: int.map(Double.init)
    }
  }

  public var string: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  public var array: [GGUFValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  /// Reads a value of the given GGUF type code, limiting array sizes to what the bytes can hold.
  static func read(type: UInt32, key: String, from reader: inout ByteReader) throws -> GGUFValue {
    switch type {
    case 0: return .uint8(try reader.read(UInt8.self, key))
    case 1: return .int8(try reader.read(Int8.self, key))
    case 2: return .uint16(try reader.read(UInt16.self, key))
    case 3: return .int16(try reader.read(Int16.self, key))
    case 4: return .uint32(try reader.read(UInt32.self, key))
    case 5: return .int32(try reader.read(Int32.self, key))
    case 6: return .float32(try reader.readFloat(key))
    case 7: return .bool(try reader.read(UInt8.self, key) != 0)
    case 8: return .string(try reader.readString(key))
    case 9:
      let elementType = try reader.read(UInt32.self, key + " element type")
      // As in llama.cpp's gguf.cpp: an array of arrays is refused (nesting would recurse without bound).
      guard elementType != 9 else { throw GGUFError.nestedArray(key: key) }
      let count = try reader.read(UInt64.self, key + " element count")
      // Every element takes at least one byte, so a count beyond the bytes left is corrupt.
      guard count <= UInt64(reader.remaining) else {
        throw GGUFError.implausibleCount(field: "array length of '\(key)'", count: count)
      }
      var values: [GGUFValue] = []
      values.reserveCapacity(Int(count))
      for _ in 0..<Int(count) {
        values.append(try read(type: elementType, key: key, from: &reader))
      }
      return .array(values)
    case 10: return .uint64(try reader.read(UInt64.self, key))
    case 11: return .int64(try reader.read(Int64.self, key))
    case 12: return .float64(try reader.readDouble(key))
    default: throw GGUFError.invalidValueType(key: key, type: type)
    }
  }
}
