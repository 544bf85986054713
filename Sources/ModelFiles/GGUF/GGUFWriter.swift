import Foundation

/// Writes GGUF version 3 files: metadata, then F32 tensors (the format of llama.cpp
/// control vectors, and the way tests build small files).
public struct GGUFWriter {
  public private(set) var metadata: [(key: String, value: GGUFValue)] = []
  public private(set) var tensors: [(name: String, dimensions: [Int], values: [Float])] = []
  public var alignment = 32

  public init() {}

  public mutating func set(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

  /// Adds an F32 tensor; `dimensions[0]` varies fastest.
  public mutating func addTensor(_ name: String, dimensions: [Int], values: [Float]) {
    precondition(dimensions.reduce(1, *) == values.count, "tensor \(name): shape does not match its values")
    tensors.append((name, dimensions, values))
  }

  /// The file's bytes.
  public func bytes() -> [UInt8] {
    var out: [UInt8] = []
    out += Array("GGUF".utf8)
    append(UInt32(3), to: &out)
    append(UInt64(tensors.count), to: &out)
    append(UInt64(metadata.count), to: &out)
    for (key, value) in metadata {
      appendString(key, to: &out)
      appendValue(value, withType: true, to: &out)
    }
    var offset = 0
    var offsets: [Int] = []
    for t in tensors {
      offsets.append(offset)
      offset += (t.values.count * 4 + alignment - 1) / alignment * alignment
    }
    for (t, o) in zip(tensors, offsets) {
      appendString(t.name, to: &out)
      append(UInt32(t.dimensions.count), to: &out)
      for d in t.dimensions { append(UInt64(d), to: &out) }
      append(GGMLType.f32.rawValue, to: &out)
      append(UInt64(o), to: &out)
    }
    pad(&out)
    for t in tensors {
      for v in t.values { append(v.bitPattern, to: &out) }
      pad(&out)
    }
    return out
  }

  /// Writes the file to a temporary name beside `path`, then renames it into place.
  public func write(to path: String) throws {
    try Data(bytes()).write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  private func pad(_ out: inout [UInt8]) {
    while out.count % alignment != 0 { out.append(0) }
  }

  private func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { out += $0 }
  }

  private func appendString(_ s: String, to out: inout [UInt8]) {
    append(UInt64(s.utf8.count), to: &out)
    out += Array(s.utf8)
  }

  private func typeCode(_ v: GGUFValue) -> UInt32 {
    switch v {
    case .uint8: 0
    case .int8: 1
    case .uint16: 2
    case .int16: 3
    case .uint32: 4
    case .int32: 5
    case .float32: 6
    case .bool: 7
    case .string: 8
    case .array: 9
    case .uint64: 10
    case .int64: 11
    case .float64: 12
    }
  }

  private func appendValue(_ v: GGUFValue, withType: Bool, to out: inout [UInt8]) {
    if withType { append(typeCode(v), to: &out) }
    switch v {
    case .uint8(let x): append(x, to: &out)
    case .int8(let x): append(x, to: &out)
    case .uint16(let x): append(x, to: &out)
    case .int16(let x): append(x, to: &out)
    case .uint32(let x): append(x, to: &out)
    case .int32(let x): append(x, to: &out)
    case .uint64(let x): append(x, to: &out)
    case .int64(let x): append(x, to: &out)
    case .float32(let x): append(x.bitPattern, to: &out)
    case .float64(let x): append(x.bitPattern, to: &out)
    case .bool(let x): append(UInt8(x ? 1 : 0), to: &out)
    case .string(let s): appendString(s, to: &out)
    case .array(let a):
      append(a.first.map(typeCode) ?? 4, to: &out)
      append(UInt64(a.count), to: &out)
      for e in a { appendValue(e, withType: false, to: &out) }
    }
  }
}
