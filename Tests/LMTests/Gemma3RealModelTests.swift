import Foundation
import LM
import TestSupport
import XCTest

/// A real Gemma 3 (270M base, Q4_K_M, fetched by scripts/setup.sh) against transformers at fp32 on
/// the same file (Tests/Fixtures/gemma3-270m/transformers.jsonl, from scripts/make_gemma3_270m_reference.py,
/// whose GGUF loader dequantizes every tensor): the family's sliding and global layers, local RoPE
/// base, q/k norms, scaled embeddings and 262k-token SentencePiece vocabulary on trained weights,
/// where the family fixtures are random. Twelve prompts: the ten of experiments/families/real_model_prompts.json
/// and two long ones, 506 tokens (greedy decoding crosses the 512-token sliding window, so the ring
/// cache wraps) and 700 (the prompt exceeds it). Fails, never skips, when the model is missing.
final class Gemma3RealModelTests: XCTestCase {
  private static let path = Fixtures.packageRoot.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path

  /// Prompt ids as transformers' tokenizer gives them (BOS first); first-step logit gaps to the best
  /// token within 1e-3 (measured 2026-12-07: at most 2e-5); the top-5 in the same order.
  func testPromptIdsAndFirstStepLogitsMatchTransformers() throws {
    let model = try DecoderModel(path: Self.path, compute: .fp32)
    for line in try Fixtures.jsonLines("gemma3-270m/transformers.jsonl") {
      let prompt = String((line["prompt"] as! String).prefix(60))
      let ids = line["prompt_ids"] as! [Int]
      XCTAssertEqual(model.tokenizer.encodeDocument(line["prompt"] as! String, parseSpecial: false), ids, prompt)
      let row = try model.forward([ForwardChunk(tokens: ids, cache: model.makeCache(capacity: ids.count), promptLength: ids.count)]).row(0)
      let top = line["top"] as! [[Double]]
      let order = Array(row.indices.sorted { row[$0] > row[$1] }.prefix(5))
      XCTAssertEqual(order, top.prefix(5).map { Int($0[0]) }, prompt)
      let best = Int(top[0][0])
      for entry in top {
        XCTAssertEqual(Double(row[Int(entry[0])] - row[best]), entry[1] - top[0][1], accuracy: 1e-3, "\(prompt): token \(Int(entry[0]))")
      }
    }
  }

  /// 24 greedy tokens per prompt, all twelve prompts in one packed batch, token for token as
  /// transformers decodes them (measured 2026-12-07: twelve of twelve; with the window read 4× too
  /// wide, the two long prompts differ).
  func testGreedyContinuationsMatchTransformers() throws {
    let model = try DecoderModel(path: Self.path, compute: .fp32)
    let lines = try Fixtures.jsonLines("gemma3-270m/transformers.jsonl")
    let generations = try model.generate(
      prompts: lines.map { $0["prompt_ids"] as! [Int] }, options: GenerationOptions(maxNewTokens: 24))
    for (line, generation) in zip(lines, generations) {
      XCTAssertEqual(generation.ids, line["greedy"] as! [Int], String((line["prompt"] as! String).prefix(60)))
    }
  }
}
