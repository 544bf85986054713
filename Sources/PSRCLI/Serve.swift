import ArgumentParser
import CLICommon
import Foundation
import LM

struct Serve: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve the model as an OpenAI-compatible chat-completions API on 127.0.0.1.",
    discussion: """
      Endpoints: POST /v1/chat/completions (messages, max_tokens, temperature, seed) and GET /v1/models.
      It prints "listening on http://127.0.0.1:PORT/v1" once ready. Requests are generated one at a time.
      --fail-first and --delay-ms inject faults for testing clients (the LLM judge's retries and timeouts).

      Examples:
        psr serve --port 8080
        compare judge --input g.jsonl --judge openai --judge-url http://127.0.0.1:8080/v1 --judge-model smollm2
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "TCP port on 127.0.0.1 (0 picks a free one).") var port: UInt16 = 8080
  @Option(help: "Default and largest max_tokens.") var maxTokens = 256
  @Option(help: "Answer the first N completion requests with HTTP 503.") var failFirst = 0
  @Option(help: "Wait this long before answering each completion request.") var delayMs = 0

  func run() throws {
    let model = try modelOptions.load()
    let name = URL(fileURLWithPath: modelOptions.resolvedPath).deletingPathExtension().lastPathComponent
    let state = ServerState(model: model, name: name, maxTokens: maxTokens, failFirst: failFirst, delayMs: delayMs)
    let server = try HTTPServer(port: port) { state.handle($0) }
    print("listening on http://127.0.0.1:\(server.port)/v1")
    fflush(stdout)
    server.serve()
  }
}

/// Routes requests to the model; generation is serialised.
final class ServerState: @unchecked Sendable {
  let model: DecoderModel
  let name: String
  let maxTokens: Int
  let delayMs: Int
  private var failuresLeft: Int
  private var counter = 0
  private let lock = NSLock()

  init(model: DecoderModel, name: String, maxTokens: Int, failFirst: Int, delayMs: Int) {
    self.model = model
    self.name = name
    self.maxTokens = maxTokens
    failuresLeft = failFirst
    self.delayMs = delayMs
  }

  func handle(_ request: HTTPServer.Request) -> HTTPServer.Response {
    switch (request.method, request.path) {
    case ("GET", "/v1/models"):
      return json(200, ["object": "list", "data": [["id": name, "object": "model", "owned_by": "psr"]]])
    case ("POST", "/v1/chat/completions"):
      return complete(request.body)
    default:
      return json(404, ["error": ["message": "no route \(request.method) \(request.path)"]])
    }
  }

  private func json(_ status: Int, _ object: Any) -> HTTPServer.Response {
    HTTPServer.Response(status: status, body: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
  }

  private func complete(_ body: Data) -> HTTPServer.Response {
    lock.lock()
    let fail = failuresLeft > 0
    if fail { failuresLeft -= 1 }
    lock.unlock()
    if delayMs > 0 { usleep(useconds_t(delayMs * 1000)) }
    if fail { return json(503, ["error": ["message": "injected failure"]]) }
    guard let o = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
      let raw = o["messages"] as? [[String: Any]], !raw.isEmpty
    else { return json(400, ["error": ["message": "body needs messages"]]) }
    var messages: [ChatMessage] = []
    for m in raw {
      guard let role = (m["role"] as? String).flatMap(ChatMessage.Role.init(rawValue:)), let content = m["content"] as? String else {
        return json(400, ["error": ["message": "each message needs role (system, user, assistant) and content"]])
      }
      messages.append(ChatMessage(role: role, content: content))
    }
    let limit = min(maxTokens, (o["max_tokens"] as? Int) ?? maxTokens)
    let temperature = (o["temperature"] as? NSNumber)?.floatValue ?? 0
    let seed = UInt64((o["seed"] as? Int) ?? 0)
    let prompt = model.tokenizer.encode(model.chatTemplate.render(messages), parseSpecial: true)
    lock.lock()
    defer { lock.unlock() }
    counter += 1
    do {
      let g = try model.generate(
        prompts: [prompt],
        options: GenerationOptions(maxNewTokens: limit, sampling: SamplingParameters(temperature: temperature, seed: seed)))[0]
      return json(
        200,
        [
          "id": "chatcmpl-\(counter)", "object": "chat.completion", "created": Int(Date().timeIntervalSince1970), "model": name,
          "choices": [
            [
              "index": 0, "message": ["role": "assistant", "content": model.tokenizer.decode(g.ids, skipSpecial: true)],
              "finish_reason": g.finishReason == .endOfSequence ? "stop" : "length",
            ]
          ],
          "usage": ["prompt_tokens": prompt.count, "completion_tokens": g.ids.count, "total_tokens": prompt.count + g.ids.count],
        ])
    } catch {
      return json(400, ["error": ["message": "\(error)"]])
    }
  }
}
