import Foundation
import Store

/// Activation files (HDF5) through the project's reader: the root attributes, the datasets' shapes,
/// then the rows of the first example. The bytes go to a file in /dev/shm, since HDF5 opens paths.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let path = "/dev/shm/psr-fuzz-\(getpid()).h5"
  guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
  defer { unlink(path) }
  guard let reader = try? ActivationReader(path: path) else { return 0 }
  if reader.exampleCount > 0 {
    let rows = reader.tokenOffsets[0]..<min(reader.tokenOffsets[1], reader.tokenOffsets[0] + 64)
    _ = try? reader.instructions(0..<1)
    _ = try? reader.tokens(rows)
    if let layer = reader.header.layers.first { _ = try? reader.delta(layer: layer, rows: rows) }
  }
  return 0
}
