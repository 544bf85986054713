import Foundation
import LM
import TestSupport
import XCTest

/// A broken Hugging Face directory or GGUF file is refused with one line that names the file
/// and the field at fault.
final class CheckpointErrorTests: CheckpointTestCase {
  /// A copy of the llama fixture's Hugging Face directory, for one test to break.
  private func copyOfCheckpoint() throws -> String {
    try copyOfCheckpoint(try FamilyFixture.load("llama").huggingFace)
  }

  /// Rewrites the safetensors header with `replace` applied, padding it to its old length.
  private func editSafetensorsHeader(_ directory: String, _ replace: (String) -> String) throws {
    let url = URL(fileURLWithPath: directory + "/model.safetensors")
    var data = try Data(contentsOf: url)
    let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    let header = String(decoding: data[8..<(8 + length)], as: UTF8.self)
    var edited = Array(replace(header).utf8)
    XCTAssertLessThanOrEqual(edited.count, length)
    edited += Array(repeating: UInt8(ascii: " "), count: length - edited.count)
    data.replaceSubrange(8..<(8 + length), with: edited)
    try data.write(to: url)
  }

  func testUnknownArchitectureIsNamed() throws {
    let dir = try copyOfCheckpoint()
    try editConfig(dir) {
      $0["architectures"] = ["FalconForCausalLM"]
      $0["model_type"] = "falcon"
    }
    assertLoadFails(dir, mentioning: ["FalconForCausalLM", "Gemma2ForCausalLM"])
  }

  func testMissingRequiredFieldNamesFileAndField() throws {
    let dir = try copyOfCheckpoint()
    try editConfig(dir) { $0.removeValue(forKey: "hidden_size") }
    assertLoadFails(dir, mentioning: ["config.json", "hidden_size"])
  }

  func testMistypedFieldNamesFileAndField() throws {
    let dir = try copyOfCheckpoint()
    try editConfig(dir) { $0["num_hidden_layers"] = "three" }
    assertLoadFails(dir, mentioning: ["config.json", "num_hidden_layers"])
  }

  func testUnreadableEndOfSequenceIsNamedNotSkipped() throws {
    let dir = try copyOfCheckpoint()
    let generation = dir + "/generation_config.json"
    try Data(#"{"eos_token_id": 0.5}"#.utf8).write(to: URL(fileURLWithPath: generation))
    assertLoadFails(dir, mentioning: ["generation_config.json", "eos_token_id is 0.5"])
    try Data(#"{"eos_token_id": [2, "x"]}"#.utf8).write(to: URL(fileURLWithPath: generation))
    assertLoadFails(dir, mentioning: ["generation_config.json", "eos_token_id"])
    try Data("{\"eos".utf8).write(to: URL(fileURLWithPath: generation))
    assertLoadFails(dir, mentioning: ["generation_config.json", "not a JSON object"])
    try Data(#"{"eos_token_id": [2, 3]}"#.utf8).write(to: URL(fileURLWithPath: generation))
    XCTAssertNoThrow(try DecoderModel(path: dir))
  }

  func testUnsupportedRopeScalingIsNamed() throws {
    let dir = try copyOfCheckpoint()
    try editConfig(dir) {
      $0["rope_scaling"] = ["rope_type": "yarn", "factor": 4.0]
      $0["rope_parameters"] = nil
    }
    assertLoadFails(dir, mentioning: ["config.json", "yarn"])
  }

  func testShardNamedByTheIndexButAbsentIsNamed() throws {
    let dir = try copyOfCheckpoint()
    let index = ["weight_map": ["model.embed_tokens.weight": "model-00001-of-00002.safetensors"]]
    try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
    assertLoadFails(dir, mentioning: ["model.safetensors.index.json", "model-00001-of-00002.safetensors"])
  }

  func testTensorOfTheWrongShapeIsNamed() throws {
    let dir = try copyOfCheckpoint()
    var shape: (ff: Int, d: Int) = (0, 0)
    try editConfig(dir) {
      shape = ($0["intermediate_size"] as! Int, $0["hidden_size"] as! Int)
      $0["intermediate_size"] = shape.ff + 8
    }
    assertLoadFails(
      dir, mentioning: [dir, "model.layers.0.mlp.gate_proj.weight", "[\(shape.ff), \(shape.d)]", "[\(shape.ff + 8), \(shape.d)]"])
  }

  func testMissingTensorIsNamed() throws {
    let dir = try copyOfCheckpoint()
    try editSafetensorsHeader(dir) { $0.replacingOccurrences(of: "\"model.norm.weight\"", with: "\"model.norx.weight\"") }
    assertLoadFails(dir, mentioning: [dir, "model.norm.weight"])
  }

  func testUnsupportedDtypeIsNamed() throws {
    let dir = try copyOfCheckpoint()
    try editSafetensorsHeader(dir) { header in
      // The first BF16 tensor becomes I16 (same size, a type no decoder weight may have).
      guard let r = header.range(of: "\"BF16\"") else { return header }
      return header.replacingCharacters(in: r, with: "\"I16\"")
    }
    assertLoadFails(dir, mentioning: ["I16"])
  }

  func testDirectoryWithoutWeightsIsNamed() throws {
    let dir = try copyOfCheckpoint()
    try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
    assertLoadFails(dir, mentioning: [dir, "model.safetensors"])
  }

  func testShardedCheckpointLoadsLikeOneFile() throws {
    // Two shards and an index give the same model as the single file.
    let fixture = try FamilyFixture.load("qwen2")
    let single = try DecoderModel(path: fixture.huggingFace)
    let dir = directory.appendingPathComponent("sharded").path
    try FileManager.default.copyItem(atPath: fixture.huggingFace, toPath: dir)
    try FileManager.default.moveItem(atPath: dir + "/model.safetensors", toPath: dir + "/model-00001-of-00001.safetensors")
    let index = ["weight_map": ["model.embed_tokens.weight": "model-00001-of-00001.safetensors"]]
    try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
    let sharded = try DecoderModel(path: dir)
    let ids = fixture.reference["ids"] as! [Int]
    let a = try single.forward([ForwardChunk(tokens: ids, cache: single.makeCache(), promptLength: ids.count)])
    let b = try sharded.forward([ForwardChunk(tokens: ids, cache: sharded.makeCache(), promptLength: ids.count)])
    XCTAssertEqual(a.storage, b.storage)
  }
}
