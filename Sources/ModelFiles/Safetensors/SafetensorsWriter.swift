import Foundation

/// Writes safetensors files of F32 tensors with a string `__metadata__` (what
/// `safetensors.torch.load_file` and `safe_open(...).metadata()` read).
///
/// Layout: an 8-byte little-endian header length, the JSON header (keys sorted, padded with spaces
/// to a multiple of 8 so that the data is aligned), then the tensors' bytes in the order added.
public struct SafetensorsWriter {
  public private(set) var metadata: [String: String] = [:]
  public private(set) var tensors: [(name: String, shape: [Int], values: [Float])] = []

  public init() {}

  public mutating func set(_ key: String, _ value: String) { metadata[key] = value }

  /// Adds an F32 tensor in row-major order; `shape` may be empty for a scalar.
  public mutating func addTensor(_ name: String, shape: [Int], values: [Float]) {
    precondition(shape.reduce(1, *) == values.count, "tensor \(name): shape does not match its values")
    precondition(name != "__metadata__" && !tensors.contains { $0.name == name }, "tensor \(name) added twice")
    tensors.append((name, shape, values))
  }

  /// The file's bytes.
  public func bytes() throws -> [UInt8] {
    var header = Header(metadata: metadata)
    var offset = 0
    for t in tensors {
      header.tensors.append((t.name, Header.Entry(shape: t.shape, dataOffsets: [offset, offset + 4 * t.values.count])))
      offset += 4 * t.values.count
    }
    let encoder = JSONEncoder()
    // Keys sorted by code point ("__metadata__" first, "gates.10" before "gates.2"): readers go by
    // the data offsets, so the order only has to be the same on every run.
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var json = [UInt8](try encoder.encode(header))
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var out: [UInt8] = []
    out.reserveCapacity(8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
    out += json
    for t in tensors {
      for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
    }
    return out
  }

  /// Writes the file to a temporary name beside `path`, then renames it into place.
  public func write(to path: String) throws {
    try Data(try bytes()).write(to: URL(fileURLWithPath: path), options: .atomic)
  }

  /// The JSON header: each tensor's entry under its name, and the string metadata.
  private struct Header: Encodable {
    struct Entry: Encodable {
      var dtype = "F32"
      var shape: [Int]
      var dataOffsets: [Int]
      enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
      }
    }
    var tensors: [(name: String, entry: Entry)] = []
    var metadata: [String: String]

    func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: JSONKey.self)
      for t in tensors { try c.encode(t.entry, forKey: JSONKey(t.name)) }
      if !metadata.isEmpty { try c.encode(metadata, forKey: JSONKey("__metadata__")) }
    }
  }
}
