import Embedding
import Foundation
import LM
import TestSupport
import XCTest

/// all-MiniLM-L6-v2 against sentence-transformers (embeddings.jsonl).
final class SentenceEncoderTests: XCTestCase {
  nonisolated(unsafe) static var shared: SentenceEncoder?

  static func encoder() throws -> SentenceEncoder {
    if let shared { return shared }
    let e = try SentenceEncoder(directory: Fixtures.packageRoot.appendingPathComponent("models/all-minilm-l6-v2").path)
    shared = e
    return e
  }

  func testTokenIdsAndEmbeddingsMatchSentenceTransformers() throws {
    let encoder = try Self.encoder()
    let lines = try Fixtures.jsonLines("all-minilm-l6-v2/embeddings.jsonl")
    XCTAssertEqual(lines.count, 44)
    let texts = lines.map { $0["text"] as! String }
    for (line, text) in zip(lines, texts) {
      XCTAssertEqual(encoder.tokenizer.encode(text), line["ids"] as! [Int], "ids of \(text.prefix(50))")
    }
    let embeddings = encoder.embed(texts)
    for (line, e) in zip(lines, embeddings) {
      let reference = (line["embedding"] as! [Double]).map(Float.init)
      let cosine = SentenceEncoder.similarity(e, reference) / reference.norm
      XCTAssertGreaterThan(cosine, 0.999, "\((line["text"] as! String).prefix(50))")
    }
  }

  func testBatchingDoesNotChangeEmbeddings() throws {
    let encoder = try Self.encoder()
    let texts = ["A short one.", "A somewhat longer sentence about rental equipment and services.", "x"]
    let together = encoder.embed(texts)
    let alone = texts.map { encoder.embed([$0])[0] }
    for (a, b) in zip(together, alone) { XCTAssertGreaterThan(SentenceEncoder.similarity(a, b), 0.99999) }
  }

  func testCorruptSafetensorsIsRejected() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(getpid()).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    var bytes = [UInt8](repeating: 0, count: 8)
    let header = Array("{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 64]}}".utf8)
    bytes[0] = UInt8(header.count)
    try Data(bytes + header + [UInt8](repeating: 0, count: 16)).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try SafetensorsFile(path: path)) { XCTAssertEqual($0 as? SafetensorsError, .outOfBounds(name: "w")) }
    try Data([200, 0, 0, 0, 0, 0, 0, 0, 123]).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try SafetensorsFile(path: path)) { error in
      guard case SafetensorsError.truncated = error else { return XCTFail("\(error)") }
    }
  }
}
