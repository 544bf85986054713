import CLICommon
import Foundation
import LM
import XCTest

/// Chat-completion bodies: accepted values, and refusals that name the parameter.
final class ChatCompletionRequestTests: XCTestCase {
  private func parse(_ json: String, maxTokens: Int = 64) throws(ChatCompletionRequest.Invalid) -> ChatCompletionRequest {
    try ChatCompletionRequest(body: Data(json.utf8), maxTokens: maxTokens, contextLength: 2048)
  }

  private func assertRefused(_ json: String, param: String?, line: UInt = #line) {
    do {
      _ = try parse(json)
      XCTFail("accepted \(json)", line: line)
    } catch {
      XCTAssertEqual(error.param, param, "\(error.message)", line: line)
    }
  }

  func testAcceptsTheUsualBodyAndTextParts() throws {
    let r = try parse(
      #"{"model": "m", "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}], "max_completion_tokens": 5, "temperature": 0.7, "seed": 3}"#
    )
    XCTAssertEqual(r.messages, [.system("Be brief."), .user("Hi!")])
    XCTAssertEqual(r.maxTokens, 5)
    XCTAssertEqual(r.temperature, 0.7, accuracy: 1e-6)
    XCTAssertEqual(r.seed, 3)
    let defaults = try parse(#"{"messages": [{"role": "user", "content": "x"}]}"#)
    XCTAssertEqual(defaults.maxTokens, 64)
    XCTAssertEqual(defaults.temperature, 1, "OpenAI's default")
    XCTAssertEqual(defaults.count, 1)
    XCTAssertNotEqual(defaults.seed, try parse(#"{"messages": [{"role": "user", "content": "x"}]}"#).seed, "no seed: not repeated")
    let full = try parse(
      #"{"prompt": "Once", "n": 2, "stop": ["\n", "END"], "logprobs": true, "top_logprobs": 3, "stream": true, "stream_options": {"include_usage": true}, "top_p": 0.9}"#
    )
    XCTAssertEqual(full.prompt, "Once")
    XCTAssertEqual(full.count, 2)
    XCTAssertEqual(full.stop, ["\n", "END"])
    XCTAssertTrue(full.logProbabilities && full.stream && full.streamUsage)
    XCTAssertEqual(full.topLogProbabilities, 3)
    XCTAssertEqual(try parse(#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 500}"#).maxTokens, 64, "capped by the server")
  }

  func testBadValuesNameTheirParameter() {
    let m = #""messages": [{"role": "user", "content": "x"}]"#
    assertRefused(#"{\#(m), "max_tokens": -5}"#, param: "max_tokens")
    assertRefused(#"{\#(m), "max_tokens": 1000000000}"#, param: "max_tokens")
    assertRefused(#"{\#(m), "max_tokens": 2.5}"#, param: "max_tokens")
    assertRefused(#"{\#(m), "temperature": -1}"#, param: "temperature")
    assertRefused(#"{\#(m), "temperature": 1e999}"#, param: nil)  // not JSON a float can hold
    assertRefused(#"{\#(m), "temperature": "hot"}"#, param: "temperature")
    assertRefused(#"{\#(m), "seed": -1}"#, param: "seed")
    assertRefused(#"{\#(m), "stream": "yes"}"#, param: "stream")
    assertRefused(#"{\#(m), "n": 9}"#, param: "n")
    assertRefused(#"{\#(m), "stop": ["a", "b", "c", "d", "e"]}"#, param: "stop")
    assertRefused(#"{\#(m), "stop": ""}"#, param: "stop")
    assertRefused(#"{\#(m), "top_p": 0}"#, param: "top_p")
    assertRefused(#"{\#(m), "top_logprobs": 3}"#, param: "top_logprobs")
    assertRefused(#"{\#(m), "stream_options": {"other": 1}}"#, param: "stream_options")
    assertRefused(#"{\#(m), "stream_options": {"include_usage": "yes"}}"#, param: "stream_options")
    do {
      _ = try parse(#"{\#(m), "stream_options": {"include_usage": 1}}"#)
      XCTFail("accepted include_usage 1")
    } catch { XCTAssertEqual(error.message, "stream_options.include_usage must be true or false") }
    assertRefused(#"{\#(m), "logit_bias": {}}"#, param: "logit_bias")
    assertRefused(#"{"messages": []}"#, param: "messages")
    assertRefused(#"{"messages": [{"role": "robot", "content": "x"}]}"#, param: "messages")
    assertRefused(#"{"messages": [{"role": "user", "content": 5}]}"#, param: "messages")
    assertRefused(#"[1]"#, param: nil)
    assertRefused(String(repeating: "[", count: 5000), param: nil)
  }

  /// The shapes of OpenAI's legacy completions that lm-eval sends: prompts as strings or token ids,
  /// singly or in lists, echo, an integer logprobs, max_tokens 0.
  func testLegacyCompletionShapes() throws {
    let ids = try parse(#"{"prompt": [1, 2, 3], "echo": true, "logprobs": 1, "max_tokens": 0}"#)
    XCTAssertEqual(ids.prompts, [.tokens([1, 2, 3])])
    XCTAssertNil(ids.prompt, "not a single string")
    XCTAssertTrue(ids.echo && ids.logProbabilities)
    XCTAssertEqual(ids.topLogProbabilities, 1)
    XCTAssertEqual(ids.maxTokens, 0)
    XCTAssertEqual(try parse(#"{"prompt": [[1], [2, 3]]}"#).prompts, [.tokens([1]), .tokens([2, 3])])
    XCTAssertEqual(try parse(#"{"prompt": ["a", "b"]}"#).prompts, [.text("a"), .text("b")])
    XCTAssertEqual(try parse(#"{"prompt": "a", "logprobs": 0}"#).topLogProbabilities, 0)
    XCTAssertTrue(try parse(#"{"prompt": "a", "logprobs": 0}"#).logProbabilities, "0 alternatives, the tokens' own still")
    assertRefused(#"{"prompt": "a", "logprobs": 6}"#, param: "logprobs")
    assertRefused(#"{"prompt": [1, "a"]}"#, param: "prompt")
    assertRefused(#"{"prompt": [[1], []]}"#, param: "prompt")
    assertRefused(#"{"prompt": [-1]}"#, param: "prompt")
    assertRefused(#"{"prompt": []}"#, param: "prompt")
    assertRefused(#"{"prompt": {"text": "a"}}"#, param: "prompt")
    assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "echo": true}"#, param: "echo")
    assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "logprobs": 1}"#, param: "logprobs")
    assertRefused(#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#, param: "max_tokens")
    assertRefused(#"{"prompt": "a", "echo": 1}"#, param: "echo")
  }
}
