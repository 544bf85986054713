import LM
import XCTest

final class GGUFReaderTests: XCTestCase {
  /// A small valid file: metadata of several types and two F32 tensors.
  private func sampleFile() -> [UInt8] {
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    w.set("test.u8", .uint8(7))
    w.set("test.i64", .int64(-5))
    w.set("test.f64", .float64(2.5))
    w.set("test.flag", .bool(true))
    w.set("test.list", .array([.string("a"), .string("bé")]))
    w.addTensor("a", dimensions: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8])
    w.addTensor("b", dimensions: [3], values: [-1, 0, 1])
    return w.bytes()
  }

  func testRoundTripsMetadataAndTensors() throws {
    let file = try GGUFFile(bytes: sampleFile())
    XCTAssertEqual(file.version, 3)
    XCTAssertEqual(file.metadata["test.u8"], .uint8(7))
    XCTAssertEqual(file.metadata["test.i64"]?.int, -5)
    XCTAssertEqual(file.metadata["test.f64"]?.double, 2.5)
    XCTAssertEqual(file.metadata["test.flag"], .bool(true))
    XCTAssertEqual(file.metadata["test.list"], .array([.string("a"), .string("bé")]))
    XCTAssertEqual(file.tensorOrder, ["a", "b"])
    XCTAssertEqual(file.dequantize(try file.tensor("a")), [1, 2, 3, 4, 5, 6, 7, 8])
    XCTAssertEqual(file.dequantize(try file.tensor("b")), [-1, 0, 1])
  }

  func testWrongMagic() {
    var bytes = sampleFile()
    bytes[0] = UInt8(ascii: "X")
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { error in
      guard case GGUFError.badMagic = error else { return XCTFail("\(error)") }
    }
  }

  func testUnsupportedVersion() {
    var bytes = sampleFile()
    bytes[4] = 1
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { XCTAssertEqual($0 as? GGUFError, .unsupportedVersion(1)) }
  }

  func testEveryTruncationIsATypedError() {
    let bytes = sampleFile()
    // Cutting the file anywhere must give a GGUFError, never a crash or a silent success.
    // The last tensor's 12 bytes end 20 bytes before the padded end of the file.
    for length in stride(from: 0, to: bytes.count - 20, by: 7) {
      XCTAssertThrowsError(try GGUFFile(bytes: Array(bytes.prefix(length))), "length \(length)") { error in
        XCTAssertTrue(error is GGUFError, "length \(length): \(error)")
      }
    }
  }

  func testAbsurdTensorDimensions() throws {
    var w = GGUFWriter()
    w.addTensor("huge", dimensions: [4], values: [1, 2, 3, 4])
    var bytes = w.bytes()
    // The single dimension follows: magic, version, counts (24), name (8 + 4), rank (4).
    let dimOffset = 24 + 12 + 4
    for i in 0..<8 { bytes[dimOffset + i] = 0xFF }
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { error in
      guard case GGUFError.invalidTensorShape(let name, _) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(name, "huge")
    }
  }

  func testTensorOffsetPastEnd() throws {
    var w = GGUFWriter()
    w.addTensor("t", dimensions: [4], values: [1, 2, 3, 4])
    var bytes = w.bytes()
    let offsetField = 24 + 9 + 4 + 8 + 4  // name "t", rank, one dimension, type
    bytes[offsetField] = 64
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { error in
      guard case GGUFError.tensorOutOfBounds(let name, 64, 16, _) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(name, "t")
    }
  }

  func testMisalignedTensorOffset() throws {
    var w = GGUFWriter()
    w.addTensor("t", dimensions: [4], values: [1, 2, 3, 4])
    var bytes = w.bytes()
    bytes[24 + 9 + 4 + 8 + 4] = 3
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { XCTAssertEqual($0 as? GGUFError, .misalignedTensor(name: "t", offset: 3)) }
  }

  func testTensorsSharingBytesAreRefused() throws {
    var w = GGUFWriter()
    w.addTensor("t", dimensions: [4], values: [1, 2, 3, 4])
    w.addTensor("u", dimensions: [4], values: [5, 6, 7, 8])
    var bytes = w.bytes()
    XCTAssertEqual(try GGUFFile(bytes: bytes).dequantize(try GGUFFile(bytes: bytes).tensor("u")), [5, 6, 7, 8])
    // u's offset (32, after t's 16 bytes padded to the alignment) follows t's entry (33 bytes)
    // and u's name, rank, dimension and type; pointed at 0 it would read t's values as its own.
    let offsetField = 24 + 33 + 9 + 4 + 8 + 4
    XCTAssertEqual(bytes[offsetField], 32)
    bytes[offsetField] = 0
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { XCTAssertEqual($0 as? GGUFError, .overlappingTensors("t", "u")) }
  }

  func testImplausibleCounts() {
    var bytes = sampleFile()
    for i in 0..<8 { bytes[8 + i] = 0xFF }  // tensor count
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { error in
      guard case GGUFError.implausibleCount(let field, _) = error else { return XCTFail("\(error)") }
      XCTAssertEqual(field, "tensor count")
    }
  }

  func testUnknownValueType() {
    var w = GGUFWriter()
    w.set("k", .uint8(1))
    var bytes = w.bytes()
    bytes[24 + 9] = 99  // the value type after key "k"
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { XCTAssertEqual($0 as? GGUFError, .invalidValueType(key: "k", type: 99)) }
  }

  /// Arrays of arrays would recurse once per level: 700 KB of them overflowed the stack. Refused
  /// at the first nesting, as llama.cpp's gguf.cpp does.
  func testNestedArraysAreRefused() {
    var bytes = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(0)) + le(UInt64(1)) + le(UInt64(1)) + Array("k".utf8)
    for _ in 0..<100_000 { bytes += le(UInt32(9)) + le(UInt32(9)) + le(UInt64(1)) }
    XCTAssertThrowsError(try GGUFFile(bytes: bytes)) { XCTAssertEqual($0 as? GGUFError, .nestedArray(key: "k")) }
  }

  func testEmptyOrDirectoryPathIsNamed() throws {
    let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID()).safetensors").path
    XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
    defer { try? FileManager.default.removeItem(atPath: empty) }
    XCTAssertThrowsError(try GGUFFile(path: empty)) { XCTAssertTrue("\($0)".contains(empty) && "\($0)".contains("empty"), "\($0)") }
    XCTAssertThrowsError(try GGUFFile(path: "/tmp")) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
    // A FIFO nobody writes to is refused at once; a plain open would wait for a writer forever.
    let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID()).gguf").path
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    defer { try? FileManager.default.removeItem(atPath: fifo) }
    XCTAssertThrowsError(try GGUFFile(path: fifo)) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
  }

  func testContentErrorsNameTheFile() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).gguf").path
    XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("GGUF\u{3}\0\0\0".utf8)))
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertThrowsError(try GGUFFile(path: path)) { XCTAssertTrue("\($0)".hasPrefix(path + ": "), "\($0)") }
  }

  private func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

  func testMissingFileNamesIt() {
    XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) { error in
      XCTAssertTrue("\(error)".contains("/nonexistent/model.gguf"))
    }
  }

  /// The metadata of a small llama: two heads of 32 dimensions.
  private func llamaMetadata(ropeDimensions: Int) throws -> [String: GGUFValue] {
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    for (key, value) in [
      ("block_count", 1), ("attention.head_count", 2), ("embedding_length", 64), ("feed_forward_length", 128),
      ("context_length", 256), ("vocab_size", 10), ("rope.dimension_count", ropeDimensions),
    ] {
      w.set("llama.\(key)", .uint32(UInt32(value)))
    }
    w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
    return try GGUFFile(bytes: w.bytes()).metadata
  }

  func testPartialRotaryEmbeddingsAreRefused() throws {
    XCTAssertEqual(try DecoderConfiguration(metadata: try llamaMetadata(ropeDimensions: 32)).headDimension, 32)
    XCTAssertThrowsError(try DecoderConfiguration(metadata: try llamaMetadata(ropeDimensions: 16))) { error in
      guard case .invalidConfiguration(let message)? = error as? ModelError else { return XCTFail("\(error)") }
      XCTAssertTrue(message.contains("rope.dimension_count 16"), message)
    }
  }

  func testModelLoadRejectsMissingTensorsAndKeys() throws {
    var w = GGUFWriter()
    w.set("general.architecture", .string("llama"))
    XCTAssertThrowsError(try DecoderConfiguration(metadata: try GGUFFile(bytes: w.bytes()).metadata)) {
      XCTAssertEqual($0 as? ModelError, .missingKey("llama.block_count"))
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("arch-\(getpid()).gguf").path
    var other = GGUFWriter()
    other.set("general.architecture", .string("gpt2"))
    try other.write(to: path)
    defer { try? FileManager.default.removeItem(atPath: path) }
    XCTAssertThrowsError(try DecoderModel(path: path)) {
      guard case .unsupportedArchitecture("gpt2", let known)? = $0 as? ModelError else { return XCTFail("\($0)") }
      XCTAssertTrue(known.contains("gemma2") && known.contains("qwen2"), "\(known)")
    }
  }
}
