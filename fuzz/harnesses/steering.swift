import Foundation
import Steering

/// Steering files: JSON decoding and validation, and the position sets they name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(UnsafeBufferPointer(start: data, count: size))
  if let file = try? SteeringFile.decode(bytes, path: "steering.json") {
    for v in file.vectors { _ = v.positions.description }
  }
  if let text = String(data: bytes.prefix(64), encoding: .utf8) { _ = try? PositionSet(parsing: text) }
  return 0
}
