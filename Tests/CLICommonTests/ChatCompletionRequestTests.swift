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
    XCTAssertEqual(try parse(#"{"messages": [{"role": "user", "content": "x"}]}"#).maxTokens, 64)
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
    assertRefused(#"{\#(m), "stream": true}"#, param: "stream")
    assertRefused(#"{\#(m), "n": 3}"#, param: "n")
    assertRefused(#"{\#(m), "logit_bias": {}}"#, param: "logit_bias")
    assertRefused(#"{"messages": []}"#, param: "messages")
    assertRefused(#"{"messages": [{"role": "robot", "content": "x"}]}"#, param: "messages")
    assertRefused(#"{"messages": [{"role": "user", "content": 5}]}"#, param: "messages")
    assertRefused(#"[1]"#, param: nil)
    assertRefused(String(repeating: "[", count: 5000), param: nil)
  }
}
