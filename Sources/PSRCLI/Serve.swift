import ArgumentParser
import CLICommon
import Foundation
import LM
import Steering

struct Serve: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve the model as an OpenAI-compatible chat-completions API on 127.0.0.1.",
    discussion: """
      Endpoints: POST /v1/chat/completions (messages, max_tokens or max_completion_tokens, temperature,
      seed) and GET /v1/models. A parameter the server cannot honour gets HTTP 400 naming it. It prints
      "listening on http://127.0.0.1:PORT/v1" once ready. Requests are generated one at a time; beyond
      --max-connections open connections a client gets 503. A request must arrive within 30 s, with no
      pause over 10 s. --fail-first and --delay-ms inject faults for testing clients (the LLM judge's
      retries and timeouts).

      Steering: --steer FILE[:FACTOR] (repeatable) steers every request by default; --steer-dir DIR loads
      every steering file there, and a request picks its own with the extension field
      "steering": [{"name": "pirate", "factor": 2}] (a file's name is its file name without .json;
      [] for none). Each response says which steering it applied, in "steering".

      Examples:
        psr serve --port 8080
        psr serve --steer pirate.psr.json:1.5 --steer-dir steering/
        curl -s localhost:8080/v1/chat/completions -d '{"messages": [{"role": "user", "content": "Hi"}], "steering": [{"name": "pirate.psr", "factor": 2}]}'
        compare judge --input g.jsonl --judge openai --judge-url http://127.0.0.1:8080/v1 --judge-model smollm2
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "TCP port on 127.0.0.1 (0 picks a free one).") var port: UInt16 = 8080
  @Option(help: "Default and largest max_tokens.") var maxTokens = 256
  @Option(help: "Open connections served at once; more get HTTP 503.") var maxConnections = 32
  @Option(help: "Steer every request by default with this file (FILE or FILE:FACTOR; repeatable).") var steer: [String] = []
  @Option(help: "Load every steering file in this directory for requests to choose by name.") var steerDir: String?
  @Option(help: "Answer the first N completion requests with HTTP 503.") var failFirst = 0
  @Option(help: "Wait this long before answering each completion request.") var delayMs = 0

  func validate() throws {
    guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
    guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
    guard failFirst >= 0 else { throw ValidationError("--fail-first must be at least 0") }
    guard (0...600_000).contains(delayMs) else { throw ValidationError("--delay-ms must be in 0...600000") }
    for entry in steer { _ = try Self.parseSteer(entry) }
  }

  /// FILE or FILE:FACTOR (the factor after the last colon, when it is a finite number).
  static func parseSteer(_ entry: String) throws -> (path: String, factor: Float) {
    if let colon = entry.lastIndex(of: ":"), let factor = Float(entry[entry.index(after: colon)...]) {
      guard factor.isFinite else { throw ValidationError("--steer \(entry): the factor must be finite") }
      return (String(entry[..<colon]), factor)
    }
    guard !entry.isEmpty else { throw ValidationError("--steer is empty") }
    return (entry, 1)
  }

  /// A steering file's name in requests: its file name without `.json`.
  static func steeringName(_ path: String) -> String {
    let file = URL(fileURLWithPath: path).lastPathComponent
    return file.hasSuffix(".json") ? String(file.dropLast(5)) : file
  }

  /// The files a request may name: --steer-dir's and the --steer ones, each checked against the model.
  private func steeringLibrary(_ model: DecoderModel) throws -> [String: SteeringFile] {
    var library: [String: SteeringFile] = [:]
    func add(_ path: String) throws {
      let file = try SteeringFile.load(path)
      _ = try file.intervention(for: model, file: path)
      library[Self.steeringName(path)] = file
    }
    // A --steer file must load; in --steer-dir, a JSON file that is not a steering file for this
    // model is skipped with a warning.
    for path in try steer.map({ try Self.parseSteer($0).path }) {
      do { try add(path) } catch { throw CLIError("\(error)") }
    }
    if let steerDir {
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: steerDir) else {
        throw CLIError("--steer-dir \(steerDir) cannot be read")
      }
      for path in names.filter({ $0.hasSuffix(".json") }).sorted().map({ steerDir + "/" + $0 }) {
        do { try add(path) } catch { log("--steer-dir: skipped \(path): \(error)") }
      }
    }
    return library
  }

  func run() throws {
    let model = try modelOptions.load()
    guard maxTokens < model.configuration.contextLength else {
      throw CLIError("--max-tokens \(maxTokens) leaves no room for a prompt in the context of \(model.configuration.contextLength)")
    }
    let name = URL(fileURLWithPath: modelOptions.resolvedPath).deletingPathExtension().lastPathComponent
    let library = try steeringLibrary(model)
    let defaults = try steer.map { entry in
      let (path, factor) = try Self.parseSteer(entry)
      return (name: Self.steeringName(path), factor: factor)
    }
    let state = ServerState(
      model: model, name: name, maxTokens: maxTokens, failFirst: failFirst, delayMs: delayMs, steeringLibrary: library,
      defaultSteering: defaults)
    if !library.isEmpty { log("steering files: \(library.keys.sorted().joined(separator: ", "))") }
    var limits = HTTPServer.Limits()
    limits.maxConnections = maxConnections
    let server = try HTTPServer(port: port, limits: limits) { state.handle($0) }
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
  let steeringLibrary: [String: SteeringFile]
  let defaultSteering: [(name: String, factor: Float)]
  private var failuresLeft: Int
  private var counter = 0
  private let lock = NSLock()

  init(
    model: DecoderModel, name: String, maxTokens: Int, failFirst: Int, delayMs: Int, steeringLibrary: [String: SteeringFile] = [:],
    defaultSteering: [(name: String, factor: Float)] = []
  ) {
    self.model = model
    self.name = name
    self.maxTokens = maxTokens
    failuresLeft = failFirst
    self.delayMs = delayMs
    self.steeringLibrary = steeringLibrary
    self.defaultSteering = defaultSteering
  }

  /// The intervention for the chosen files and factors (nil for none); an unknown name is an error.
  private func intervention(_ choice: [(name: String, factor: Float)]) throws(ChatCompletionRequest.Invalid) -> (any Intervention)? {
    var members: [any Intervention] = []
    for (name, factor) in choice {
      guard let file = steeringLibrary[name] else {
        let known = steeringLibrary.keys.sorted().joined(separator: ", ")
        throw ChatCompletionRequest.Invalid(
          message: "no steering file named '\(name)' (loaded: \(known.isEmpty ? "none; start the server with --steer-dir" : known))",
          param: "steering")
      }
      do { members.append(try file.intervention(for: model, factor: factor)) } catch {
        throw ChatCompletionRequest.Invalid(message: "\(error)", param: "steering")
      }
    }
    return members.isEmpty ? nil : members.count == 1 ? members[0] : InterventionChain(members)
  }

  func handle(_ request: HTTPServer.Request) -> HTTPServer.Response {
    switch (request.method, request.path) {
    case ("GET", "/v1/models"):
      return json(200, ["object": "list", "data": [["id": name, "object": "model", "owned_by": "psr"]]])
    case ("POST", "/v1/chat/completions"):
      return complete(request.body)
    case (_, "/v1/models"), (_, "/v1/chat/completions"):
      return .error(405, "\(request.method) is not allowed on \(request.path)")
    default:
      return .error(404, "no route \(request.method) \(request.path)")
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
    if fail { return .error(503, "injected failure") }
    let request: ChatCompletionRequest
    do {
      request = try ChatCompletionRequest(body: body, maxTokens: maxTokens, contextLength: model.configuration.contextLength)
    } catch {
      return .error(400, error.message, param: error.param)
    }
    let prompt = model.tokenizer.encode(model.chatTemplate.render(request.messages), parseSpecial: true)
    let room = model.configuration.contextLength - prompt.count
    guard room >= 1 else {
      return .error(
        400, "the messages take \(prompt.count) tokens; the context holds \(model.configuration.contextLength)",
        param: "messages", code: "context_length_exceeded")
    }
    let choice = request.steering ?? defaultSteering
    lock.lock()
    defer { lock.unlock() }
    counter += 1
    do {
      let steering: (any Intervention)?
      do { steering = try intervention(choice) } catch { return .error(400, error.message, param: error.param) }
      let options = GenerationOptions(
        maxNewTokens: min(request.maxTokens, room),
        sampling: SamplingParameters(temperature: request.temperature, seed: request.seed))
      let g = try model.generate(prompts: [prompt], options: options, intervention: steering)[0]
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
          "steering": choice.map { ["name": $0.name, "factor": Double($0.factor)] as [String: Any] },
        ])
    } catch {
      return .error(500, "\(error)")
    }
  }
}
