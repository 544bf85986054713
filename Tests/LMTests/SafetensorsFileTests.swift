import LM
import XCTest

final class SafetensorsFileTests: XCTestCase {
  /// A safetensors file with the given header entries over `data`.
  private func file(_ header: String, data: [UInt8]) -> [UInt8] {
    let json = Array(header.utf8)
    return withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json + data
  }

  private let eightFloats: [UInt8] = (0..<8).flatMap { i in withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { Array($0) } }

  func testTensorsLaidEndToEndRead() throws {
    let bytes = file(
      #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]}}"#,
      data: eightFloats)
    let st = try SafetensorsFile(bytes: bytes)
    XCTAssertEqual(try st.floats("a"), [0, 1, 2, 3])
    XCTAssertEqual(try st.floats("b", shape: [2, 2]), [4, 5, 6, 7])
  }

  func testTensorsSharingBytesAreRefused() {
    // b's range altered to start inside a's: reading on would give b a's last values.
    let bytes = file(
      #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
      data: eightFloats)
    XCTAssertThrowsError(try SafetensorsFile(bytes: bytes)) { error in
      XCTAssertTrue("\(error)".contains("tensors 'a' and 'b' share bytes"), "\(error)")
    }
  }

  func testEmptyTensorsShareNothing() throws {
    let bytes = file(
      #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}"#,
      data: eightFloats)
    XCTAssertEqual(try SafetensorsFile(bytes: bytes).floats("b"), (0..<8).map(Float.init))
  }
}
