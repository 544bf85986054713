import Foundation
import LM
import Steering
import TestSupport
import XCTest

/// A control vector written as repeng writes one, applied by llama.cpp (steered.jsonl from
/// scripts/make_control_vector_fixtures.py), against the same file imported here.
final class ControlVectorImportTests: TemporaryDirectoryTestCase {
  private var vectorPath = ""

  override func setUpWithError() throws {
    try super.setUpWithError()
    vectorPath = try Fixtures.controlVector()
  }

  /// Mean |logit difference| over llama.cpp's 20 best tokens at the last position, after removing
  /// the mean difference (a shift of every logit changes no probability).
  private func gap(_ model: DecoderModel, _ line: [String: Any], _ intervention: (any Intervention)?) throws -> Float {
    let ids = line["ids"] as! [Int]
    let logits = try model.forward(
      [ForwardChunk(tokens: ids, cache: model.makeCache(), promptLength: ids.count)], intervention: intervention)
    let differences = (line["top"] as! [[Double]]).map { logits.row(0)[Int($0[0])] - Float($0[1]) }
    let mean = differences.reduce(0, +) / Float(differences.count)
    return differences.map { abs($0 - mean) }.reduce(0, +) / Float(differences.count)
  }

  func testImportedVectorGivesLlamaCppSteeredLogits() throws {
    let model = try Fixtures.model()
    let file = try SteeringFile.load(vectorPath, for: model)
    XCTAssertEqual(file.kind, .controlVector)
    XCTAssertEqual(file.vectors.map(\.layer), [3, 11, 20])
    XCTAssertEqual(file.vectors.map(\.positions), [.all, .all, .all])
    XCTAssertEqual(file.training["model_hint"], .string("llama"))
    for line in try Fixtures.jsonLines("control-vectors/steered.jsonl") {
      let strength = Float(line["strength"] as! Double)
      let steered = try gap(model, line, try file.intervention(for: model, factor: strength))
      // llama.cpp quantizes activations in its Q4_1 products: measured 0.05–0.09 here; unsteered
      // logits are 0.48–0.86 away from llama.cpp's steered ones, and a shifted layer 0.21–1.1.
      XCTAssertLessThan(steered, 0.15, "strength \(strength)")
      XCTAssertGreaterThan(try gap(model, line, nil), 0.4, "the vector must visibly move the logits")
      // Off by one block either way (a different layer convention) is far off.
      for shift in [-1, 1] {
        var shifted = file
        for i in shifted.vectors.indices { shifted.vectors[i].layer += shift }
        let g = try gap(model, line, try shifted.intervention(for: model, factor: strength))
        XCTAssertGreaterThan(g, 0.18, "layers shifted by \(shift)")
      }
    }
  }

  func testImportedFileRecordsTheModelAndRoundTripsThroughExport() throws {
    let model = try Fixtures.model()
    let file = try ControlVectorImport.steeringFile(path: vectorPath, for: model)
    XCTAssertEqual(file.model, try model.fingerprint)
    let path = directory.appendingPathComponent("again.gguf").path
    try ControlVectorExport.gguf(file).write(to: path)
    XCTAssertEqual(try SteeringFile.load(path, for: model).vectors, file.vectors)
  }

  private func write(_ build: (inout GGUFWriter) -> Void) throws -> String {
    var w = GGUFWriter()
    build(&w)
    let path = directory.appendingPathComponent("cv-\(UUID().uuidString).gguf").path
    try w.write(to: path)
    return path
  }

  func testMismatchedVectorsAreClearErrors() throws {
    let model = try Fixtures.model()
    let d = model.configuration.modelDimension
    func expect(_ message: String, _ build: (inout GGUFWriter) -> Void) throws {
      let path = try write(build)
      XCTAssertThrowsError(try SteeringFile.load(path, for: model)) { error in
        XCTAssertTrue("\(error)".contains(message), "\(error)")
        XCTAssertTrue("\(error)".contains(path), "\(error)")
      }
    }
    func arch(_ w: inout GGUFWriter) { w.set("general.architecture", .string("controlvector")) }
    try expect("has 4096 values, but the model's dimension is 576") {
      arch(&$0)
      $0.addTensor("direction.5", dimensions: [4096], values: [Float](repeating: 0.1, count: 4096))
    }
    try expect("beyond the model's 30 layers") {
      arch(&$0)
      $0.addTensor("direction.30", dimensions: [d], values: [Float](repeating: 0.1, count: d))
    }
    try expect("direction.0") {
      arch(&$0)
      $0.addTensor("direction.0", dimensions: [d], values: [Float](repeating: 0.1, count: d))
    }
    try expect("not named direction.N") {
      arch(&$0)
      $0.addTensor("direction.1abc", dimensions: [d], values: [Float](repeating: 0.1, count: d))
    }
    try expect("not 'controlvector'") {
      $0.set("general.architecture", .string("llama"))
      $0.addTensor("direction.1", dimensions: [d], values: [Float](repeating: 0.1, count: d))
    }
    try expect("no direction tensors") { arch(&$0) }
    try expect("a direction is one vector") {
      arch(&$0)
      $0.addTensor("direction.2", dimensions: [d, 2], values: [Float](repeating: 0.1, count: 2 * d))
    }
    try expect("NaN") {
      arch(&$0)
      $0.addTensor("direction.2", dimensions: [d], values: [Float](repeating: .nan, count: d))
    }
  }

  func testSameLayerTwiceIsSummedAsLlamaCppDoes() throws {
    let model = try Fixtures.model()
    let d = model.configuration.modelDimension
    let path = try write {
      $0.set("general.architecture", .string("controlvector"))
      $0.addTensor("direction.4", dimensions: [d], values: [Float](repeating: 1, count: d))
      $0.addTensor("direction.04", dimensions: [d], values: [Float](repeating: 2, count: d))
    }
    let file = try SteeringFile.load(path, for: model)
    XCTAssertEqual(file.vectors.count, 1)
    XCTAssertEqual(file.vectors[0].vector, [Float](repeating: 3, count: d))
  }
}
