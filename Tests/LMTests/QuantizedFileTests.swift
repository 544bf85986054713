import Foundation
import LM
import TestSupport
import XCTest

/// GGUF files quantized by llama.cpp's own quantizer (Q4_K_M, Q5_K_M, Q6_K, Q5_0, Q5_1, Q4_0, Q4_1,
/// Q8_0, F16 and BF16 files, with F32 norms):
/// every tensor dequantizes to exactly gguf-py's values (Tests/Fixtures/quants*.tar.gz,
/// scripts/make_quant_fixtures.py).
final class QuantizedFileTests: XCTestCase {
  private static let root: Result<String, Error> = Result { try Fixtures.quantFiles() }

  private func reference() throws -> [String: [String: [String: Any]]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: try Self.root.get() + "/reference.json"))
    return try JSONSerialization.jsonObject(with: data) as! [String: [String: [String: Any]]]
  }

  func testEveryTensorDequantizesExactlyAsGGUFPy() throws {
    var types = Set<String>()
    for (file, tensors) in try reference() {
      let gguf = try GGUFFile(path: try Self.root.get() + "/\(file).gguf")
      XCTAssertEqual(Set(gguf.tensors.keys), Set(tensors.keys), file)
      for (name, expected) in tensors {
        let values = gguf.dequantize(try gguf.tensor(name))
        let digest = values.withUnsafeBytes { SHA256.hex(Array($0)) }
        let type = expected["type"] as! String
        types.insert(type)
        XCTAssertEqual(digest, expected["sha256"] as! String, "\(file) \(name) (\(type))")
        XCTAssertEqual(Array(values.prefix(8)), (expected["first"] as! [Double]).map(Float.init), "\(file) \(name)")
      }
    }
    XCTAssertEqual(types, ["Q4_K", "Q5_K", "Q6_K", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "F16", "BF16", "F32"])
  }

  func testQuantizedModelsLoadAndRun() throws {
    for file in try reference().keys {
      let model = try DecoderModel(path: try Self.root.get() + "/\(file).gguf")
      let logits = try model.forward([ForwardChunk(tokens: [5, 6, 7], cache: model.makeCache(), promptLength: 3)])
      XCTAssertTrue(logits.storage.allSatisfy(\.isFinite), file)
    }
  }

  func testDecodingKernelsAgreeWithTheExpandedProducts() throws {
    // 80 tokens at once take the expanded (sgemm) products; one at a time, the decode kernels:
    // K-quants on the file's super-blocks, the 32-weight types repacked (RowKernel).
    let tokens = (0..<80).map { 3 + $0 * 37 % 300 }
    for file in ["Q4_K_M", "Q5_K_M", "Q6_K", "Q5_0", "Q5_1", "Q4_0", "Q4_1", "Q8_0"] {
      let model = try DecoderModel(path: try Self.root.get() + "/\(file).gguf", weights: .native)
      let whole = try model.forward([ForwardChunk(tokens: tokens, cache: model.makeCache(), promptLength: 80)], logits: .all)
      let cache = model.makeCache()
      for (p, token) in tokens.enumerated() {
        let step = try model.forward([ForwardChunk(tokens: [token], cache: cache, promptLength: 1)], logits: .last)
        if p % 10 == 9 {
          let error = zip(step.row(0), whole.row(p)).map { $0 - $1 }.norm / whole.row(p).norm
          XCTAssertLessThan(error, 1e-4, "\(file) position \(p)")
        }
      }
    }
  }

  func testTruncatedKQuantTensorIsAClearError() throws {
    let path = try Self.root.get() + "/Q4_K_M.gguf"
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    bytes = bytes.prefix(bytes.count - 1000)
    let truncated = FileManager.default.temporaryDirectory.appendingPathComponent("truncated-\(UUID()).gguf")
    try bytes.write(to: truncated)
    defer { try? FileManager.default.removeItem(at: truncated) }
    XCTAssertThrowsError(try DecoderModel(path: truncated.path)) { error in
      let message = "\(error)"
      XCTAssertTrue(message.contains("runs past the tensor data"), message)
      XCTAssertFalse(message.contains("\n"))
    }
  }
}
