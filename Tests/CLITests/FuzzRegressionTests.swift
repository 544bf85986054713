import CLICommon
import Foundation
import LM
import Steering
import Store
import TestSupport
import XCTest

/// Replays every input that the fuzzers kept (fuzz/crashes/TARGET: crashes found and fixed, and
/// fuzz/corpus/TARGET: the seeds) through the same calls as the harnesses in fuzz/harnesses.
/// Each must return, with a value or a typed error; a regression crashes this test.
final class FuzzRegressionTests: XCTestCase {
  private func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
    var out: [(String, [UInt8])] = []
    for kind in ["crashes", "corpus"] {
      let dir = Fixtures.packageRoot.appendingPathComponent("fuzz/\(kind)/\(target)")
      for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.sorted() ?? [] {
        out.append(("\(kind)/\(name)", [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))))
      }
    }
    XCTAssertFalse(out.isEmpty, "fuzz/corpus/\(target) holds the seeds")
    return out
  }

  func testGGUF() throws {
    var parsed = 0
    defer { XCTAssertGreaterThan(parsed, 0, "the seeds are valid GGUF files") }
    for (_, bytes) in try inputs("gguf") {
      guard let file = try? GGUFFile(bytes: bytes) else { continue }
      parsed += 1
      _ = try? DecoderConfiguration(metadata: file.metadata)
      if let t = try? loadTokenizer(gguf: file) {
        _ = t.decodeBytes(t.encode("Hello <s> wörld 123", parseSpecial: true), skipSpecial: false)
      }
      for name in file.tensorOrder {
        if let info = file.tensors[name], info.elementCount <= 1 << 16 { _ = file.dequantize(info) }
      }
    }
  }

  func testSafetensors() throws {
    var parsed = 0
    defer { XCTAssertGreaterThan(parsed, 0, "the seeds are valid safetensors files") }
    for (_, bytes) in try inputs("safetensors") {
      guard let file = try? SafetensorsFile(bytes: bytes) else { continue }
      parsed += 1
      for (name, entry) in file.entries where entry.shape.reduce(1, *) <= 1 << 16 { _ = try? file.floats(name) }
    }
  }

  func testTokenizerJSON() throws {
    var loaded = 0
    for (_, bytes) in try inputs("tokenizer-json") {
      guard let t = try? loadTokenizer(tokenizerJSONBytes: bytes, name: "tokenizer.json", endOfSequence: 0) else { continue }
      loaded += 1
      let ids = t.encodeDocument("<|im_start|>user\nça va? 🚀<|im_end|>", parseSpecial: true)
      XCTAssertTrue(ids.allSatisfy { (0..<t.vocabularySize).contains($0) })
    }
    XCTAssertGreaterThan(loaded, 0)
  }

  func testHTTP() throws {
    var requests = 0
    for (_, bytes) in try inputs("http") {
      let data = Data(bytes)
      if case .complete(let head) = HTTPHead.parse(data) {
        if (try? ChatCompletionRequest(body: data.dropFirst(head.bodyStart), maxTokens: 256)) != nil { requests += 1 }
      }
      _ = try? ChatCompletionRequest(body: data, maxTokens: 256)
    }
    XCTAssertGreaterThan(requests, 0, "the seed request parses")
  }

  func testHDF5() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID()).h5").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    var opened = 0
    for (_, bytes) in try inputs("hdf5") {
      try Data(bytes).write(to: URL(fileURLWithPath: path))
      guard let reader = try? ActivationReader(path: path) else { continue }
      opened += 1
      if reader.exampleCount > 0 {
        _ = try? reader.tokens(reader.tokenOffsets[0]..<reader.tokenOffsets[1])
      }
    }
    XCTAssertGreaterThan(opened, 0, "the seeds are valid activation files")
  }

  func testSteeringFiles() throws {
    for (name, bytes) in try inputs("steering") {
      let file = try? SteeringFile.decode(Data(bytes), path: name)
      if name.hasPrefix("corpus/") { XCTAssertNotNil(file, "\(name) is a valid seed") }
      if let text = String(bytes: bytes.prefix(64), encoding: .utf8) { _ = try? PositionSet(parsing: text) }
    }
  }
}
