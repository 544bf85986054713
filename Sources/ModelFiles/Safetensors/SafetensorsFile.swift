import Foundation

/// Why a safetensors file could not be read.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
  case truncated(path: String, reason: String)
  case badHeader(path: String, reason: String)
  case unsupportedType(name: String, dtype: String)
  case outOfBounds(name: String)
  case missingTensor(String)
  case shape(name: String, found: [Int], expected: [Int])

  public var description: String {
    switch self {
    case .truncated(let path, let reason): "\(path) is truncated: \(reason)"
    case .badHeader(let path, let reason): "\(path) has an invalid safetensors header: \(reason)"
    case .unsupportedType(let name, let dtype): "tensor '\(name)' has unsupported dtype \(dtype)"
    case .outOfBounds(let name): "tensor '\(name)' lies outside the file's data"
    case .missingTensor(let name): "safetensors file lacks tensor '\(name)'"
    case .shape(let name, let found, let expected): "tensor '\(name)' has shape \(found), expected \(expected)"
    }
  }
}

/// A safetensors file (Hugging Face): an 8-byte little-endian header length, a JSON header
/// mapping names to dtype, shape and [begin, end) data offsets, then the data. Memory-mapped;
/// every offset is checked at open.
public final class SafetensorsFile: Sendable {
  public struct Entry: Sendable, Equatable {
    public let dtype: String
    public let shape: [Int]
    public let range: Range<Int>
  }

  public let path: String
  public let entries: [String: Entry]
  /// The header's `__metadata__`: string keys to string values (empty when absent).
  public let metadata: [String: String]
  private let mapping: MemoryMapping
  private let dataStart: Int

  public convenience init(path: String) throws {
    try self.init(mapping: try MemoryMapping(path: path), path: path)
  }

  /// Parses safetensors bytes already in memory (tests and fuzzing of corrupt inputs).
  public convenience init(bytes: [UInt8], name: String = "<memory>") throws {
    try self.init(mapping: MemoryMapping(copying: bytes), path: name)
  }

  private init(mapping: MemoryMapping, path: String) throws {
    self.path = path
    self.mapping = mapping
    let bytes = mapping.bytes
    guard bytes.count >= 8 else { throw SafetensorsError.truncated(path: path, reason: "no header length") }
    let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
    guard headerLength <= UInt64(bytes.count - 8) else {
      throw SafetensorsError.truncated(path: path, reason: "header of \(headerLength) bytes")
    }
    dataStart = 8 + Int(headerLength)
    let header: [String: Any]
    do {
      guard let object = try ExactJSON.parse(Array(bytes[8..<dataStart]), maxDepth: 16).foundation as? [String: Any] else {
        throw SafetensorsError.badHeader(path: path, reason: "not a JSON object")
      }
      header = object
    } catch let error as ExactJSON.SyntaxError {
      throw SafetensorsError.badHeader(path: path, reason: "\(error)")
    }
    let dataSize = bytes.count - dataStart
    var entries: [String: Entry] = [:]
    for (name, value) in header where name != "__metadata__" {
      guard let info = value as? [String: Any], let dtype = info["dtype"] as? String, let shape = info["shape"] as? [Int],
        let offsets = info["data_offsets"] as? [Int], offsets.count == 2
      else { throw SafetensorsError.badHeader(path: path, reason: "entry '\(name)' lacks dtype, shape or data_offsets") }
      guard let size = Self.elementSize(dtype) else { throw SafetensorsError.unsupportedType(name: name, dtype: dtype) }
      guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 32 }), let bytes = Self.byteCount(shape, elementSize: size),
        offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize, offsets[1] - offsets[0] == bytes
      else { throw SafetensorsError.outOfBounds(name: name) }
      entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
    }
    // The format lays tensors end to end; shared bytes mean an altered offset.
    let ranges = entries.filter { !$0.value.range.isEmpty }.sorted {
      ($0.value.range.lowerBound, $0.key) < ($1.value.range.lowerBound, $1.key)
    }
    for (a, b) in zip(ranges, ranges.dropFirst()) where a.value.range.overlaps(b.value.range) {
      throw SafetensorsError.badHeader(path: path, reason: "tensors '\(a.key)' and '\(b.key)' share bytes of the data")
    }
    self.entries = entries
    if let raw = header["__metadata__"] {
      guard let metadata = raw as? [String: String] else {
        throw SafetensorsError.badHeader(path: path, reason: "__metadata__ is not an object of strings")
      }
      self.metadata = metadata
    } else {
      metadata = [:]
    }
  }

  /// The product of the shape and the element size, or nil when it overflows.
  static func byteCount(_ shape: [Int], elementSize: Int) -> Int? {
    var total = elementSize
    for d in shape {
      let (product, overflow) = total.multipliedReportingOverflow(by: d)
      if overflow { return nil }
      total = product
    }
    return total
  }

  static func elementSize(_ dtype: String) -> Int? {
    switch dtype {
    case "F32", "I32": 4
    case "F16", "BF16": 2
    case "I64", "F64": 8
    case "U8", "I8", "BOOL": 1
    default: nil
    }
  }

  /// The raw bytes of an entry, valid while this file object lives.
  public func data(_ entry: Entry) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: mapping.bytes[(dataStart + entry.range.lowerBound)..<(dataStart + entry.range.upperBound)])
  }

  /// A float tensor (F32, F16 or BF16) as fp32, checked against `shape` when given.
  public func floats(_ name: String, shape: [Int]? = nil) throws -> [Float] {
    guard let e = entries[name] else { throw SafetensorsError.missingTensor(name) }
    if let shape, shape != e.shape { throw SafetensorsError.shape(name: name, found: e.shape, expected: shape) }
    let base = mapping.bytes.baseAddress! + dataStart + e.range.lowerBound
    let count = e.shape.reduce(1, *)
    var out = [Float](repeating: 0, count: count)
    switch e.dtype {
    case "F32": Dequantize.decode(.f32, from: base, count: count, into: &out)
    case "F16": Dequantize.decode(.f16, from: base, count: count, into: &out)
    case "BF16": Dequantize.decode(.bf16, from: base, count: count, into: &out)
    default: throw SafetensorsError.unsupportedType(name: name, dtype: e.dtype)
    }
    return out
  }
}
