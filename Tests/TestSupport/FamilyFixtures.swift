import Foundation
import LM

/// The tiny random-weight checkpoints of each decoder family (scripts/make_family_fixtures.py):
/// a Hugging Face directory, its GGUF conversion by llama.cpp, and transformers' outputs.
public struct FamilyFixture {
  public let family: String
  /// The Hugging Face model directory.
  public let huggingFace: String
  /// The GGUF file made from it by llama.cpp's convert_hf_to_gguf.py.
  public let gguf: String
  /// reference.json: ids, hidden, top_ids, top_logits, greedy_prompt, greedy, gradient.
  public let reference: [String: Any]

  public static let families = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3", "qwen3moe", "mixtral"]
  /// The families whose fixture also has a GGUF file with Q8_0 experts (`model-q8_0.gguf`).
  public static let mixtures = ["qwen3moe", "mixtral"]

  /// The GGUF file with quantized experts, for the mixture families.
  public var quantizedGGUF: String { URL(fileURLWithPath: gguf).deletingLastPathComponent().path + "/model-q8_0.gguf" }

  /// Unpacks Tests/Fixtures/families/<family>.tar.gz into a temporary directory, once per process.
  public static func load(_ family: String) throws -> FamilyFixture {
    let root = try Fixtures.unpackedOnce("families/\(family).tar.gz") + "/" + family
    let data = try Data(contentsOf: URL(fileURLWithPath: root + "/reference.json"))
    return FamilyFixture(
      family: family, huggingFace: root + "/hf", gguf: root + "/model.gguf",
      reference: try JSONSerialization.jsonObject(with: data) as! [String: Any])
  }

  /// Both formats of the checkpoint, loaded.
  public func models() throws -> [(format: String, model: DecoderModel)] {
    [("hf", try DecoderModel(path: huggingFace)), ("gguf", try DecoderModel(path: gguf))]
  }
}
