import Foundation
import LM
import Steering
import TestSupport
import XCTest

/// Vectors in and out through the commands: a llama.cpp control vector used directly and imported,
/// exports to llama.cpp and safetensors, and the errors of a vector that does not fit.
final class SteeringExchangeTests: TemporaryDirectoryTestCase {
  private var vector = ""

  override func setUpWithError() throws {
    try super.setUpWithError()
    vector = try Fixtures.controlVector()
  }

  private func psr(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try CommandLineTool.run("psr", arguments + ["--model", Fixtures.modelPath], in: directory, timeout: 300)
  }

  private func text(_ extra: [String]) throws -> String {
    let r = try psr(["generate", "--prompt", "Tell me about the sea.", "--max-tokens", "12", "--json"] + extra)
    XCTAssertEqual(r.status, 0, r.stderr)
    return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any])["text"] as! String
  }

  func testControlVectorSteersDirectlyAndOnceImported() throws {
    let imported = directory.appendingPathComponent("sea.json").path
    let r = try psr(["sv", "import", vector, "--out", imported])
    XCTAssertEqual(r.status, 0, r.stderr)
    let file = try SteeringFile.load(imported)
    XCTAssertEqual(file.kind, .controlVector)
    XCTAssertEqual(file.model, try Fixtures.model().fingerprint)
    let direct = try text(["--steer", vector, "--factor", "1.5"])
    XCTAssertEqual(direct, try text(["--steer", imported, "--factor", "1.5"]))
    XCTAssertNotEqual(direct, try text([]))
  }

  func testExportToLlamaCppChecksTheModelAndWritesItsArchitecture() throws {
    let imported = directory.appendingPathComponent("sea.json").path
    XCTAssertEqual(try psr(["sv", "import", vector, "--out", imported]).status, 0)
    let out = directory.appendingPathComponent("twice.gguf").path
    let r = try psr(["export", "--format", "gguf", imported, "--factor", "2", "--out", out])
    XCTAssertEqual(r.status, 0, r.stderr)
    let gguf = try GGUFFile(path: out)
    XCTAssertEqual(gguf.metadata["controlvector.model_hint"]?.string, "llama")
    let original = try GGUFFile(path: vector)
    XCTAssertEqual(
      gguf.dequantize(try gguf.tensor("direction.11")), original.dequantize(try original.tensor("direction.11")).map { $0 * 2 })

    var beyond = try SteeringFile.load(imported)
    beyond.vectors[0].layer = 0
    try beyond.save(imported)
    let refused = try psr(["export", "--format", "gguf", imported])
    XCTAssertEqual(refused.status, 1)
    XCTAssertTrue(refused.stderr.contains("cannot steer layer 0"), refused.stderr)
  }

  func testPromptOnlyVectorsExportToSafetensorsButNotToLlamaCpp() throws {
    let prosv = Fixtures.packageRoot.appendingPathComponent("experiments/prosv/rental.prosv.json").path
    let gguf = try psr(["export", "--format", "gguf", prosv, "--out", directory.appendingPathComponent("x.gguf").path])
    XCTAssertEqual(gguf.status, 1)
    XCTAssertTrue(gguf.stderr.contains("a control vector applies everywhere"), gguf.stderr)
    let out = directory.appendingPathComponent("rental.safetensors").path
    XCTAssertEqual(try psr(["export", "--format", "safetensors", prosv, "--out", out]).status, 0)
    let entries = try SafetensorsFile(path: out).metadata["entries"] ?? ""
    XCTAssertTrue(entries.contains("\"positions\":\"p2+s2\""), entries)
  }

  func testVectorOfAnotherWidthIsOneLineError() throws {
    var w = GGUFWriter()
    w.set("general.architecture", .string("controlvector"))
    w.addTensor("direction.5", dimensions: [4096], values: [Float](repeating: 0.5, count: 4096))
    let path = directory.appendingPathComponent("llama8b.gguf").path
    try w.write(to: path)
    for command in [["sv", "import", path], ["generate", "--prompt", "Hi", "--steer", path]] {
      let r = try psr(command)
      XCTAssertEqual(r.status, 1, "\(command)")
      XCTAssertTrue(r.stderr.hasPrefix("Error: "), r.stderr)
      XCTAssertTrue(r.stderr.contains("4096 values, but the model's dimension is 576"), r.stderr)
      XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("llama8b.json").path))
  }
}

/// `compare --steer`: a control vector benchmarked as a method of its own.
final class CompareSteerTests: TemporaryDirectoryTestCase {
  func testControlVectorIsBenchmarkedBesideTheBuiltInMethods() throws {
    let vector = try Fixtures.controlVector()
    let out = directory.appendingPathComponent("run").path
    let r = try CommandLineTool.run(
      "compare",
      [
        "--model", Fixtures.modelPath, "--bench", "axbench", "--concepts", "1", "--methods", "none", "--steer", "sea=" + vector,
        "--factors", "0.5,1", "--out", out,
      ], timeout: 600)
    XCTAssertEqual(r.status, 0, r.stderr)
    let results = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/results.json"))) as! [String: Any]
    let methods = ((results["units"] as! [[String: Any]])[0]["methods"] as! [[String: Any]])
    XCTAssertEqual(methods.map { $0["method"] as! String }, ["none", "sea"])
    XCTAssertTrue([0.5, 1].contains(methods[1]["selected_factor"] as? Double), "\(methods[1])")
    XCTAssertEqual((results["config"] as? [String: String])?["steer_sea"], vector)

    let clash = try CommandLineTool.run("compare", ["--steer", "psr=" + vector, "--out", out])
    XCTAssertNotEqual(clash.status, 0)
    XCTAssertTrue(clash.stderr.contains("already a method"), clash.stderr)
  }
}
