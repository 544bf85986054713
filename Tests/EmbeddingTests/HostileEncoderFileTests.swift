import Embedding
import Foundation
import LM
import TestSupport
import XCTest

/// The judge's encoder files, tampered with: special-token ids outside the vocabulary, tensors
/// whose shapes do not fit the model, shapes whose byte count overflows. Each is an error at load.
final class HostileEncoderFileTests: TemporaryDirectoryTestCase {
  private let source = Fixtures.packageRoot.appendingPathComponent("models/all-minilm-l6-v2")

  /// A copy of the encoder directory with `tokenizer.json` and the safetensors header edited.
  private func copy(tokenizer edit: ((inout [String: Any]) -> Void)? = nil, header headerEdit: ((inout [String: Any]) -> Void)? = nil)
    throws -> String
  {
    let dir = directory.appendingPathComponent("encoder-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var tokenizer =
      try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("tokenizer.json"))) as! [String: Any]
    edit?(&tokenizer)
    try JSONSerialization.data(withJSONObject: tokenizer).write(to: dir.appendingPathComponent("tokenizer.json"))
    let weights = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
    let length = Int(weights.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    var header = try JSONSerialization.jsonObject(with: weights[8..<(8 + length)]) as! [String: Any]
    headerEdit?(&header)
    header["__metadata__"] = nil  // room for longer numbers in the edited entry
    var json = try JSONSerialization.data(withJSONObject: header)
    while json.count < length { json.append(0x20) }  // same length: the data offsets stay right
    XCTAssertEqual(json.count, length, "the edited header must not grow")
    try (weights.prefix(8) + json + weights[(8 + length)...]).write(to: dir.appendingPathComponent("model.safetensors"))
    return dir.path
  }

  private func setVocabularyId(_ token: String, _ id: Int) -> (inout [String: Any]) -> Void {
    { json in
      var model = json["model"] as! [String: Any]
      var vocab = model["vocab"] as! [String: Int]
      vocab[token] = id
      model["vocab"] = vocab
      json["model"] = model
    }
  }

  private func reshape(_ name: String, _ shape: [Int], bytes: Int? = nil) -> (inout [String: Any]) -> Void {
    { header in
      var entry = header[name] as! [String: Any]
      entry["shape"] = shape
      if let bytes {
        let begin = (entry["data_offsets"] as! [Int])[0]
        entry["data_offsets"] = [begin, begin + bytes]
      }
      header[name] = entry
    }
  }

  private func assertRefused(_ directory: String, mentioning part: String, line: UInt = #line) {
    XCTAssertThrowsError(try SentenceEncoder(directory: directory), line: line) { error in
      XCTAssertTrue("\(error)".contains(part), "\(error)", line: line)
      XCTAssertFalse("\(error)".contains("\n"), line: line)
    }
  }

  func testSpecialTokenIdsOutsideTheVocabulary() throws {
    assertRefused(try copy(tokenizer: setVocabularyId("[CLS]", 1_000_000_000)), mentioning: "[CLS]")
    assertRefused(try copy(tokenizer: setVocabularyId("[SEP]", -5)), mentioning: "[SEP]")
  }

  func testTensorsThatDoNotFitTheModel() throws {
    assertRefused(
      try copy(header: reshape("embeddings.position_embeddings.weight", [1, 384], bytes: 384 * 4)),
      mentioning: "position_embeddings")
    assertRefused(try copy(header: reshape("embeddings.LayerNorm.bias", [3], bytes: 12)), mentioning: "embeddings.LayerNorm.bias")
    assertRefused(
      try copy(header: reshape("encoder.layer.2.attention.self.key.bias", [100], bytes: 400)),
      mentioning: "encoder.layer.2.attention.self.key.bias")
    assertRefused(try copy(header: reshape("embeddings.token_type_embeddings.weight", [2, 7], bytes: 56)), mentioning: "token_type")
  }

  func testShapeWhoseByteCountOverflows() throws {
    assertRefused(
      try copy(header: reshape("embeddings.LayerNorm.weight", [1 << 31, 1 << 31, 1 << 31])), mentioning: "embeddings.LayerNorm.weight")
  }
}
