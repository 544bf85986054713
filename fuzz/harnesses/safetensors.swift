import Foundation
import LM

/// safetensors: the header's JSON, every entry's dtype, shape and offsets, then reading each
/// small float tensor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard let file = try? SafetensorsFile(bytes: Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
  for (name, entry) in file.entries where entry.shape.reduce(1, *) <= 1 << 16 {
    _ = try? file.floats(name)
  }
  return 0
}
