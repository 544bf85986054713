import ArgumentParser
import CLICommon
import Foundation
import LM
import Steering

public struct Serve: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Serve the model as an OpenAI-compatible chat-completions API (127.0.0.1 unless --host, with --api-key).",
    discussion: """
      Endpoints: POST /v1/chat/completions and /v1/completions (messages or prompt, max_tokens or \
      max_completion_tokens, temperature (default 1), top_p, seed (absent: a fresh one), n, stop, \
      logprobs and top_logprobs, stream with stream_options.include_usage), GET /v1/models, \
      /v1/models/{id}, /v1/steering (the loaded steering: name, kind, layers, default factor) and /health. \
      /v1/completions also takes OpenAI's legacy shapes, as lm-eval's local-completions model sends them: \
      prompt as a string, strings, token ids or lists of token ids; echo (the prompt's tokens scored); \
      an integer logprobs 0–5 (legacy tokens, token_logprobs, top_logprobs, text_offset); max_tokens 0. \
      POST /tokenize, /detokenize and GET /tokenizer_info (vLLM's routes) tokenize with the model's own \
      tokenizer. \
      A parameter the server cannot honour gets HTTP 400 naming it, in \
      OpenAI's error shape. It prints "listening on http://127.0.0.1:PORT/v1" once ready. Concurrent \
      requests decode together (continuous batching: a new request joins the running batch at the next \
      token), up to --max-batch sequences, each with its own steering, sampling and length; beyond \
      --max-connections open connections a client gets 503. A request must arrive within 30 s, with no \
      pause over 10 s. --fail-first and --delay-ms inject faults for testing clients (the LLM judge's \
      retries and timeouts).

      Steering: --steer FILE[:FACTOR] (repeatable) steers every request by default; --steer-dir DIR loads \
      every steering file (.json) and llama.cpp/repeng control vector (.gguf) there, and a request \
      picks its own with the extension field "steering": [{"name": "pirate", "factor": 2}] (a file's \
      name is its file name without .json or .gguf; [] for none). Each response says which steering it applied, in "steering".

      Sharing: --host ADDRESS binds another IPv4 address (0.0.0.0: every interface). Any address outside \
      127.0.0.0/8 needs --api-key KEY (or the PSR_API_KEY environment variable); with a key, every request but \
      GET /health must carry "Authorization: Bearer KEY" (compared in constant time), else HTTP 401 in \
      OpenAI's error shape.

      Examples:
        psr serve --port 8080
        psr serve --steer evil.psr:1.5 --steer-dir experiments/prosv
        PSR_API_KEY=$(openssl rand -hex 16) psr serve --host 0.0.0.0 --port 8080
        curl -s localhost:8080/v1/chat/completions -d '{"messages": [{"role": "user", "content": "Hi"}], "steering": [{"name": "rental.prosv", "factor": 2}]}'
        compare judge --input examples/generations.jsonl --judge openai --judge-url http://127.0.0.1:8080/v1 --judge-model smollm2
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "IPv4 address to listen on; one outside 127.0.0.0/8 needs --api-key.") var host = "127.0.0.1"
  @Option(help: "TCP port (0 picks a free one).") var port: UInt16 = 8080
  @Option(help: "Require \"Authorization: Bearer KEY\" on every request but /health (default: $PSR_API_KEY).") var apiKey: String?
  @Option(help: "Default and largest max_tokens.") var maxTokens = 256
  @Option(help: "Open connections served at once; more get HTTP 503.") var maxConnections = 32
  @Option(help: "Sequences decoded together at most (a request with n choices counts n); more wait for a place.") public var maxBatch = 32
  @Option(help: "Steer every request by default with this steering file or control vector (FILE or FILE:FACTOR; repeatable).") var steer:
    [String] = []
  @Option(help: "Load every steering file in this directory for requests to choose by name.") var steerDir: String?
  @Option(help: "Answer the first N completion requests with HTTP 503.") var failFirst = 0
  @Option(help: "Wait this long before answering each completion request.") var delayMs = 0

  public func validate() throws {
    guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
    guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
    try Check.within(maxBatch, 1...1024, "--max-batch")
    guard failFirst >= 0 else { throw ValidationError("--fail-first must be at least 0") }
    guard (0...600_000).contains(delayMs) else { throw ValidationError("--delay-ms must be in 0...600000") }
    for entry in steer { _ = try Self.parseSteer(entry) }
    var address = in_addr()
    guard inet_pton(AF_INET, host, &address) == 1 else {
      throw ValidationError("--host '\(host)' is not an IPv4 address (127.0.0.1, 0.0.0.0, or an interface's address)")
    }
    if let key = resolvedAPIKey, key.isEmpty || key.utf8.count > 4096 || key.contains(where: { $0.isWhitespace || !$0.isASCII }) {
      throw ValidationError("--api-key must be 1 to 4096 printable ASCII characters without spaces")
    }
    if !HTTPServer.isLoopback(host) && resolvedAPIKey == nil {
      throw ValidationError("--host \(host) exposes the server beyond this machine; give --api-key KEY (or PSR_API_KEY)")
    }
  }

  /// --api-key, else $PSR_API_KEY (an empty variable counts as unset).
  var resolvedAPIKey: String? {
    apiKey ?? ProcessInfo.processInfo.environment["PSR_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// FILE or FILE:FACTOR (grammar in `SteerSpec`).
  static func parseSteer(_ entry: String) throws -> (path: String, factor: Float) {
    do {
      let spec = try SteerSpec(parsing: entry)
      return (spec.path, spec.factor)
    } catch { throw ValidationError(error.description) }
  }

  /// A steering file's name in requests: its file name without `.json` or `.gguf`.
  static func steeringName(_ path: String) -> String {
    let file = URL(fileURLWithPath: path).lastPathComponent
    for suffix in [".json", ".gguf"] where file.hasSuffix(suffix) { return String(file.dropLast(suffix.count)) }
    return file
  }

  /// The files a request may name: --steer-dir's and the --steer ones, each checked against the model.
  private func steeringLibrary(_ model: DecoderModel) throws -> [String: SteeringFile] {
    var library: [String: SteeringFile] = [:]
    func add(_ path: String) throws {
      let file = try SteeringFile.load(path, for: model)
      _ = try file.intervention(for: model, file: path)
      library[Self.steeringName(path)] = file
    }
    // A --steer file must load; in --steer-dir, a .json or .gguf file that is not a steering file
    // or control vector for this model is skipped with a warning.
    for path in try steer.map({ try Self.parseSteer($0).path }) {
      do { try add(path) } catch { throw CLIError("\(error)") }
    }
    if let steerDir {
      guard let names = try? FileManager.default.contentsOfDirectory(atPath: steerDir) else {
        throw CLIError("--steer-dir \(steerDir) cannot be read")
      }
      for path in names.filter({ $0.hasSuffix(".json") || $0.hasSuffix(".gguf") }).sorted().map({ steerDir + "/" + $0 }) {
        do { try add(path) } catch { log("--steer-dir: skipped \(path): \(error)") }
      }
    }
    return library
  }

  public func run() throws {
    let model = try modelOptions.load(automaticCompute: modelOptions.textCompute)
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
      defaultSteering: defaults, maxBatch: maxBatch, apiKey: resolvedAPIKey)
    if !library.isEmpty { log("steering files: \(library.keys.sorted().joined(separator: ", "))") }
    var limits = HTTPServer.Limits()
    limits.maxConnections = maxConnections
    let server: HTTPServer
    do { server = try HTTPServer(host: host, port: port, limits: limits) { state.handle($0) } } catch { throw CLIError("\(error)") }
    if resolvedAPIKey != nil { log("requests need Authorization: Bearer <key> (all but /health)") }
    print("listening on http://\(host):\(server.port)/v1")
    fflush(nil)
    server.serve()
  }
}
