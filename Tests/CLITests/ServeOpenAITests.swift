import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// `psr serve` as an OpenAI client sees it: n, stop, logprobs, streaming with usage, plain
/// completions, the model routes and health.
final class ServeOpenAITests: XCTestCase {
  private static let server = Result { try ServeProcess.start(["--max-tokens", "16"]) }

  override class func tearDown() {
    if case .success(let s) = server {
      s.process.terminate()
      s.process.waitUntilExit()
    }
    super.tearDown()
  }

  private func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> (status: Int, data: Data) {
    try ServeProcess.call(try Self.server.get().url, method, path, body)
  }

  private func json(_ data: Data) -> [String: Any] { (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:] }

  private func contents(_ answer: [String: Any]) -> [String] {
    (answer["choices"] as? [[String: Any]] ?? []).map {
      ($0["message"] as? [String: Any])?["content"] as? String ?? $0["text"] as? String ?? ""
    }
  }

  private let question: [String: Any] = ["role": "user", "content": "Name three colours."]

  func testSeveralChoicesFromOneRequest() throws {
    let (status, data) = try call("POST", "/chat/completions", ["messages": [question], "n": 3, "seed": 7, "max_tokens": 10])
    XCTAssertEqual(status, 200)
    let answer = json(data)
    let texts = contents(answer)
    XCTAssertEqual(texts.count, 3)
    XCTAssertEqual((answer["choices"] as! [[String: Any]]).map { $0["index"] as! Int }, [0, 1, 2])
    XCTAssertGreaterThan(Set(texts).count, 1, "temperature 1 by default: the choices differ")
  }

  func testStopStringEndsTheAnswerBeforeIt() throws {
    let base: [String: Any] = ["messages": [question], "temperature": 0, "max_tokens": 16]
    let full = contents(json(try call("POST", "/chat/completions", base).data))[0]
    let words = full.split(separator: " ")
    XCTAssertGreaterThan(words.count, 3, full)
    let stop = String(words[2])
    var withStop = base
    withStop["stop"] = [stop, "zzzz"]
    let answer = json(try call("POST", "/chat/completions", withStop).data)
    let text = contents(answer)[0]
    XCTAssertEqual(text, String(full[..<full.range(of: stop)!.lowerBound]))
    XCTAssertEqual((answer["choices"] as! [[String: Any]])[0]["finish_reason"] as? String, "stop")
  }

  func testLogProbabilitiesOfEachToken() throws {
    let answer = json(
      try call(
        "POST", "/chat/completions", ["messages": [question], "temperature": 0, "max_tokens": 6, "logprobs": true, "top_logprobs": 3]
      )
      .data)
    let choice = (answer["choices"] as! [[String: Any]])[0]
    let entries = (choice["logprobs"] as! [String: Any])["content"] as! [[String: Any]]
    XCTAssertEqual(entries.count, (answer["usage"] as! [String: Any])["completion_tokens"] as? Int)
    for e in entries {
      let top = e["top_logprobs"] as! [[String: Any]]
      XCTAssertEqual(top.count, 3)
      let lp = e["logprob"] as! Double
      XCTAssertLessThanOrEqual(lp, 0)
      XCTAssertEqual(lp, top[0]["logprob"] as! Double, accuracy: 1e-6, "greedy takes the best token")
      XCTAssertEqual(e["token"] as? String, top[0]["token"] as? String)
    }
    XCTAssertEqual(entries.map { $0["token"] as! String }.joined(), contents(answer)[0])
  }

  func testStreamEqualsTheWholeAnswerAndEndsWithUsageAndDone() throws {
    let body: [String: Any] = ["messages": [question], "seed": 3, "max_tokens": 12]
    let whole = json(try call("POST", "/chat/completions", body).data)
    var streamed = body
    streamed["stream"] = true
    streamed["stream_options"] = ["include_usage": true]
    let (status, data) = try call("POST", "/chat/completions", streamed)
    XCTAssertEqual(status, 200)
    let events = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
    XCTAssertEqual(events.last, "data: [DONE]")
    let chunks = events.dropLast().map { json(Data($0.dropFirst("data: ".count).utf8)) }
    XCTAssertTrue(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
    let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
      .joined()
    XCTAssertEqual(text, contents(whole)[0])
    XCTAssertEqual(
      (chunks.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int,
      (whole["usage"] as? [String: Any])?["completion_tokens"] as? Int)
    let finishes = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
    XCTAssertEqual(finishes.count, 1)
  }

  func testTextCompletionAndRoutes() throws {
    let (status, data) = try call("POST", "/completions", ["prompt": "The capital of France is", "temperature": 0, "max_tokens": 5])
    XCTAssertEqual(status, 200)
    XCTAssertEqual(json(data)["object"] as? String, "text_completion")
    XCTAssertFalse(contents(json(data))[0].isEmpty)
    XCTAssertEqual(try call("GET", "/../health").status, 200)
    let name = ((json(try call("GET", "/models").data)["data"] as! [[String: Any]])[0]["id"] as! String)
    XCTAssertEqual(try call("GET", "/models/" + name).status, 200)
    let missing = try call("GET", "/models/gpt-9")
    XCTAssertEqual(missing.status, 404)
    XCTAssertEqual((json(missing.data)["error"] as? [String: Any])?["code"] as? String, "model_not_found")
    XCTAssertEqual(try call("POST", "/chat/completions", ["prompt": "x"]).status, 400)
  }
}
