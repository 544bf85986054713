import Foundation
import LM
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// `psr serve` as lm-eval's `local-completions` model uses it: the tokenizer routes it finds first,
/// then `/v1/completions` with token-id prompts, `echo`, an integer `logprobs` and `max_tokens` 0 or
/// 1, answered in OpenAI's legacy logprobs shape, steered when asked.
final class ServeLMEvalTests: XCTestCase {
  private static let steeringDirectory = Fixtures.packageRoot.appendingPathComponent("experiments/prosv").path
  private static let server = Result {
    try ServeProcess.start(["--max-tokens", "8", "--steer-dir", steeringDirectory])
  }

  override class func tearDown() {
    if case .success(let s) = server {
      s.process.terminate()
      s.process.waitUntilExit()
    }
    super.tearDown()
  }

  private func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> (status: Int, json: [String: Any]) {
    let (status, data) = try ServeProcess.call(try Self.server.get().url, method, path, body)
    return (status, (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:])
  }

  private func refusal(_ body: [String: Any], _ path: String = "/completions") throws -> String? {
    let (status, json) = try call("POST", path, body)
    XCTAssertEqual(status, 400, "\(body)")
    return (json["error"] as? [String: Any])?["param"] as? String
  }

  private func logprobs(_ answer: [String: Any], choice: Int = 0) -> [String: Any] {
    ((answer["choices"] as? [[String: Any]])?[choice]["logprobs"] as? [String: Any]) ?? [:]
  }

  func testTokenizerRoutesMatchTheModelsTokenizer() throws {
    let model = try Fixtures.model()
    let text = "The capital of France is Paris.<|im_end|>"
    let (status, encoded) = try call("POST", "/../tokenize", ["prompt": text, "add_special_tokens": false])
    XCTAssertEqual(status, 200)
    let ids = encoded["tokens"] as? [Int] ?? []
    XCTAssertEqual(ids, model.tokenizer.encode(text, parseSpecial: true), "special tokens in the text are parsed")
    XCTAssertEqual(encoded["count"] as? Int, ids.count)
    let decoded = try call("POST", "/../detokenize", ["tokens": ids]).json
    XCTAssertEqual(decoded["prompt"] as? String, text)
    let info = try call("GET", "/../tokenizer_info").json
    let eos = String(decoding: model.tokenizer.decodeBytes([model.tokenizer.endOfSequence], skipSpecial: false), as: UTF8.self)
    XCTAssertEqual(info["eos_token"] as? String, eos)
    XCTAssertEqual(try call("POST", "/../tokenize", ["prompt": 5]).status, 400)
    XCTAssertEqual(try call("POST", "/../detokenize", ["tokens": [-1]]).status, 400)
    XCTAssertEqual(try call("POST", "/../detokenize", ["tokens": [1], "extra": 1]).status, 400)
    XCTAssertEqual(try call("GET", "/../tokenize").status, 405)
  }

  /// lm-eval's log-likelihood request: the echoed prompt's log-probabilities equal the model's own
  /// scoring of the same tokens (in this process, through `responseLogProbabilities`, at the server's
  /// precision: `auto` is int8 in `psr serve`) within 1e-4, the first token is null, each top entry is
  /// the best alternative, and max_tokens 1 adds one token.
  func testEchoScoresThePromptAsTheModelDoes() throws {
    let model = try DecoderModel(path: Fixtures.modelPath, compute: .int8)
    let ids = model.tokenizer.encode("The capital of France is Paris, and the capital of Italy is Rome.", parseSpecial: false)
    let request: [String: Any] = ["prompt": [ids], "max_tokens": 0, "echo": true, "logprobs": 1, "temperature": 0, "seed": 1234]
    let (status, answer) = try call("POST", "/completions", request)
    XCTAssertEqual(status, 200, "\(answer)")
    let lp = logprobs(answer)
    let tokens = lp["tokens"] as? [String] ?? []
    let scores = lp["token_logprobs"] as? [Any] ?? []
    let top = lp["top_logprobs"] as? [Any] ?? []
    let offsets = lp["text_offset"] as? [Int] ?? []
    XCTAssertEqual(tokens.count, ids.count)
    XCTAssertEqual(scores.count, ids.count)
    XCTAssertEqual(top.count, ids.count)
    XCTAssertEqual(offsets.count, ids.count)
    XCTAssertTrue(scores.first is NSNull && top.first is NSNull, "the first token has no prediction")
    let text = (answer["choices"] as? [[String: Any]])?[0]["text"] as? String
    XCTAssertEqual(text, String(decoding: model.tokenizer.decodeBytes(ids, skipSpecial: false), as: UTF8.self))
    XCTAssertEqual(tokens.joined(), text)
    XCTAssertEqual(offsets, tokens.indices.map { tokens[..<$0].joined().unicodeScalars.count })
    let reference = try model.responseLogProbabilities([TeacherForcedSequence(prompt: [ids[0]], response: Array(ids[1...]))])[0]
    for t in 1..<ids.count {
      let got = (scores[t] as? NSNumber)?.doubleValue ?? .nan
      XCTAssertEqual(got, Double(reference[t - 1]), accuracy: 1e-4, "token \(t)")
      let best = ((top[t] as? [String: Double]) ?? [:]).values.max() ?? .nan
      XCTAssertGreaterThanOrEqual(best, got - 1e-6, "token \(t): the top entry is the best")
    }
    let total = reference.reduce(0, +)
    XCTAssertLessThan(total, 0)

    var plusOne = request
    plusOne["max_tokens"] = 1
    let longer = logprobs(try call("POST", "/completions", plusOne).json)
    let longerScores = longer["token_logprobs"] as? [Any] ?? []
    XCTAssertEqual(longerScores.count, ids.count + 1, "the prompt and one new token")
    for t in 1..<ids.count {
      XCTAssertEqual((longerScores[t] as? NSNumber)?.doubleValue, (scores[t] as? NSNumber)?.doubleValue, "token \(t)")
    }
  }

  func testSteeringChangesTheEchoedScores() throws {
    let model = try Fixtures.model()
    let ids = model.tokenizer.encode("I would like to rent a flat near the station.", parseSpecial: false)
    var request: [String: Any] = ["prompt": ids, "max_tokens": 0, "echo": true, "logprobs": 1]
    let plain = logprobs(try call("POST", "/completions", request).json)["token_logprobs"] as? [Any] ?? []
    request["steering"] = [["name": "rental.prosv", "factor": 4]]
    let steered = try call("POST", "/completions", request)
    XCTAssertEqual(steered.status, 200, "\(steered.json)")
    let scores = logprobs(steered.json)["token_logprobs"] as? [Any] ?? []
    XCTAssertEqual(scores.count, plain.count)
    let difference = zip(plain.dropFirst(), scores.dropFirst()).map {
      abs((($0 as? NSNumber)?.doubleValue ?? 0) - (($1 as? NSNumber)?.doubleValue ?? 0))
    }.max() ?? 0
    XCTAssertGreaterThan(difference, 1e-3, "steering changed the prompt's scores")
    let applied = steered.json["steering"] as? [[String: Any]] ?? []
    XCTAssertEqual(applied.first?["name"] as? String, "rental.prosv", "the answer names the steering it applied")
  }

  func testPromptShapes() throws {
    let model = try Fixtures.model()
    let a = model.tokenizer.encode("One, two,", parseSpecial: false)
    let b = model.tokenizer.encode("Red, green,", parseSpecial: false)
    for prompt in [["One, two,", "Red, green,"], [a, b]] as [Any] {
      let (status, answer) = try call("POST", "/completions", ["prompt": prompt, "max_tokens": 2, "temperature": 0, "n": 2])
      XCTAssertEqual(status, 200, "\(answer)")
      let choices = answer["choices"] as? [[String: Any]] ?? []
      XCTAssertEqual(choices.map { $0["index"] as? Int }, [0, 1, 2, 3], "prompt · n + choice")
      XCTAssertEqual((answer["usage"] as? [String: Int])?["prompt_tokens"], a.count + b.count)
    }
    let none = try call("POST", "/completions", ["prompt": a, "max_tokens": 0])
    XCTAssertEqual(none.status, 200)
    XCTAssertEqual((none.json["choices"] as? [[String: Any]])?[0]["text"] as? String, "")
    XCTAssertEqual((none.json["choices"] as? [[String: Any]])?[0]["finish_reason"] as? String, "length")
    let legacy = logprobs(try call("POST", "/completions", ["prompt": "Hi", "max_tokens": 3, "temperature": 0, "logprobs": 2]).json)
    XCTAssertEqual((legacy["tokens"] as? [String])?.count, 3)
    XCTAssertTrue((legacy["top_logprobs"] as? [[String: Double]] ?? []).allSatisfy { $0.count == 2 })

    XCTAssertEqual(try refusal(["prompt": "Hi", "logprobs": 6]), "logprobs")
    XCTAssertEqual(try refusal(["prompt": "Hi", "logprobs": 2, "top_logprobs": 2]), "top_logprobs")
    XCTAssertEqual(try refusal(["prompt": [model.configuration.vocabularySize]]), "prompt")
    XCTAssertEqual(try refusal(["prompt": [] as [Int]]), "prompt")
    XCTAssertEqual(try refusal(["prompt": [[1], "x"]]), "prompt")
    XCTAssertEqual(try refusal(["prompt": [[] as [Int]]]), "prompt")
    XCTAssertEqual(try refusal(["prompt": Array(repeating: "x", count: 65)]), "prompt")
    XCTAssertEqual(try refusal(["prompt": ["a", "b"], "stream": true]), "stream")
    XCTAssertEqual(try refusal(["prompt": "a", "echo": true, "stream": true]), "stream")
    let chat: [String: Any] = ["messages": [["role": "user", "content": "Hi"]]]
    XCTAssertEqual(try refusal(chat.merging(["echo": true]) { a, _ in a }, "/chat/completions"), "echo")
    XCTAssertEqual(try refusal(chat.merging(["max_tokens": 0]) { a, _ in a }, "/chat/completions"), "max_tokens")
    XCTAssertEqual(try refusal(chat.merging(["logprobs": 1]) { a, _ in a }, "/chat/completions"), "logprobs")
  }
}
