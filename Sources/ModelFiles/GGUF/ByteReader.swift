/// A cursor over little-endian bytes that checks every read against the end.
struct ByteReader {
  let bytes: UnsafeRawBufferPointer
  private(set) var offset: Int

  init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
    self.bytes = bytes
    self.offset = offset
  }

  var remaining: Int { bytes.count - offset }

  mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: @autoclosure () -> String) throws -> T {
    let size = MemoryLayout<T>.size
    guard remaining >= size else {
      throw GGUFError.truncated(field: field(), offset: offset, fileSize: bytes.count)
    }
    let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    offset += size
    return T(littleEndian: value)
  }

  mutating func readFloat(_ field: @autoclosure () -> String) throws -> Float {
    Float(bitPattern: try read(UInt32.self, field()))
  }

  mutating func readDouble(_ field: @autoclosure () -> String) throws -> Double {
    Double(bitPattern: try read(UInt64.self, field()))
  }

  mutating func readString(_ field: @autoclosure () -> String) throws -> String {
    let name = field()
    let start = offset
    let length = try read(UInt64.self, name + " length")
    guard length <= UInt64(remaining) else {
      throw GGUFError.truncated(field: name, offset: start, fileSize: bytes.count)
    }
    let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
    guard let string = String(validating: slice, as: UTF8.self) else {
      throw GGUFError.invalidString(field: name, offset: start)
    }
    offset += Int(length)
    return string
  }
}
