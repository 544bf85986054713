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
    var header: [String: Any] = [:]
    var offset = 0
    for t in tensors {
      header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]]
      offset += 4 * t.values.count
    }
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys, .withoutEscapingSlashes]))
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
}
