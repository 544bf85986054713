import Foundation
import LM
import Steering
import TestSupport
import XCTest

final class SteeringFileTests: TemporaryDirectoryTestCase {
  private func sample(model: DecoderModel) throws -> SteeringFile {
    var f = try SteeringFile(kind: .prosv, for: model)
    let d = model.configuration.modelDimension
    f.vectors = [VectorEntry(layer: 7, positions: .prompt(prefix: 2, suffix: 2), alpha: 3.5, vector: (0..<d).map { Float($0) / 1000 })]
    f.training = ["epochs": .number(12), "data": .string("x.jsonl")]
    return f
  }

  func testRoundTrip() throws {
    let model = try Fixtures.model()
    let f = try sample(model: model)
    let path = directory.appendingPathComponent("v.json").path
    try f.save(path)
    XCTAssertEqual(try SteeringFile.load(path), f)
    XCTAssertEqual(try model.fingerprint.sha256, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
  }

  func testLoadingIntoAnotherModelIsAnError() throws {
    let model = try Fixtures.model()
    var f = try sample(model: model)
    f.model.sha256 = String(repeating: "0", count: 64)
    XCTAssertThrowsError(try f.intervention(for: model)) { error in
      XCTAssertTrue(error is FingerprintMismatch, "\(error)")
    }
  }

  func testMalformedFilesAreRejectedWithTheirPath() throws {
    let path = directory.appendingPathComponent("bad.json").path
    try Data("{\"format\": \"psr-steering\"}".utf8).write(to: URL(fileURLWithPath: path))
    XCTAssertThrowsError(try SteeringFile.load(path)) { XCTAssertTrue("\($0)".contains(path)) }
    let model = try Fixtures.model()
    var f = try sample(model: model)
    f.vectors[0].vector.removeLast()
    try f.save(path)
    XCTAssertThrowsError(try SteeringFile.load(path)) { XCTAssertTrue("\($0)".contains("575 values")) }
  }

  /// A path that is not a steering file's says which of the usual mistakes it is, in one line.
  func testPathsThatAreNotFilesSayWhy() throws {
    let empty = directory.appendingPathComponent("zero-bytes.json").path
    FileManager.default.createFile(atPath: empty, contents: Data())
    // A FIFO nobody writes to: reading it, or probing it for GGUF's magic, would wait forever.
    let fifo = directory.appendingPathComponent("fifo.json").path
    XCTAssertEqual(mkfifo(fifo, 0o600), 0)
    XCTAssertFalse(ControlVectorImport.isGGUF(fifo))
    for (path, reason) in [
      (directory.appendingPathComponent("no-such.json").path, "no such file"), (directory.path, "it is a directory; give a file"),
      (empty, "it is empty"), ("/dev/null", "it is not a regular file"), (fifo, "it is not a regular file"),
    ] {
      XCTAssertThrowsError(try SteeringFile.load(path), path) { error in
        let text = "\(error)"
        XCTAssertTrue(text.contains(path) && text.hasSuffix(reason) && !text.contains("\n"), text)
      }
    }
  }

  func testAFileThatSteersNothingIsRefused() throws {
    let model = try Fixtures.model()
    var f = try sample(model: model)
    f.vectors = []
    let path = directory.appendingPathComponent("empty.json").path
    try f.save(path)
    XCTAssertThrowsError(try SteeringFile.load(path)) { XCTAssertTrue("\($0)".contains("holds no vector, gate or projection"), "\($0)") }
  }

  func testSteeringThatOverflowsStopsGenerationWithAnError() throws {
    // 4 × 1e38 overflows to ∞ in the residual; the next norm divides ∞ by ∞, and NaN reaches every logit.
    let model = try Fixtures.model()
    let d = model.configuration.modelDimension
    let vector = AdditiveVector(layer: 5, alpha: 4, vector: [Float](repeating: 1e38, count: d), positions: .all)
    let prompt = model.chatPrompt(user: "Hi")
    let options = GenerationOptions(maxNewTokens: 3)
    XCTAssertThrowsError(try model.generate(prompts: [prompt], options: options, intervention: vector)) { error in
      XCTAssertEqual(error as? ModelError, .nonFiniteLogits(generated: 0))
    }
    XCTAssertEqual(try model.generate(prompts: [prompt], options: options).first?.ids.count, 3)
  }

  func testControlVectorExportHoldsAlphaTimesVector() throws {
    let model = try Fixtures.model()
    var f = try SteeringFile(kind: .fssv, for: model)
    let d = model.configuration.modelDimension
    let v = (0..<d).map { Float($0 % 7) - 3 }
    f.vectors = [VectorEntry(layer: 12, positions: .all, alpha: 2, vector: v)]
    f.alpha = 1.5
    let bytes = try ControlVectorExport.gguf(f).bytes()
    let gguf = try GGUFFile(bytes: bytes)
    XCTAssertEqual(gguf.metadata["general.architecture"]?.string, "controlvector")
    XCTAssertEqual(gguf.metadata["controlvector.model_hint"]?.string, "llama")
    XCTAssertEqual(gguf.metadata["controlvector.layer_count"]?.int, 1)
    XCTAssertEqual(gguf.dequantize(try gguf.tensor("direction.12")), v.map { $0 * 3 })
    XCTAssertThrowsError(try ControlVectorExport.gguf(try sample(model: model)), "prompt-only vectors are not constant")
  }
}
