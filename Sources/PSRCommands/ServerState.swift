import CLICommon
import Foundation
import LM
import Steering
import Synchronization

/// Routes requests to the model, OpenAI's way: chat and text completions (whole or streamed as
/// server-sent events), the model list, health. Concurrent requests decode together in one
/// ``DecodeLoop`` (continuous batching), each with its own steering and sampling.
final class ServerState: Sendable {
  let model: DecoderModel
  let loop: DecodeLoop
  let name: String
  let maxTokens: Int
  let delayMs: Int
  let steeringLibrary: [String: SteeringFile]
  let defaultSteering: [(name: String, factor: Float)]
  /// The key every request but /health must carry as "Authorization: Bearer KEY" (nil: none).
  let apiKey: [UInt8]?
  /// Injected failures still to answer, and requests numbered so far.
  private let counts: Mutex<(failuresLeft: Int, requests: Int)>

  init(
    model: DecoderModel, name: String, maxTokens: Int, failFirst: Int, delayMs: Int, steeringLibrary: [String: SteeringFile] = [:],
    defaultSteering: [(name: String, factor: Float)] = [], maxBatch: Int = 32, apiKey: String? = nil
  ) {
    self.apiKey = apiKey.map { Array($0.utf8) }
    self.model = model
    loop = DecodeLoop(model: model, maxBatch: maxBatch)
    self.name = name
    self.maxTokens = maxTokens
    counts = Mutex((failFirst, 0))
    self.delayMs = delayMs
    self.steeringLibrary = steeringLibrary
    self.defaultSteering = defaultSteering
  }

  /// Whether `authorization` is "Bearer KEY" with this server's key, compared in time that
  /// depends on the lengths only (no early exit on the first differing byte).
  static func authorized(_ authorization: String?, key: [UInt8]) -> Bool {
    let prefix = Array("Bearer ".utf8)
    let given = Array((authorization ?? "").utf8)
    guard given.count == prefix.count + key.count else { return false }
    var difference: UInt8 = 0
    for (a, b) in zip(given, prefix + key) { difference |= a ^ b }
    return difference == 0
  }

  func handle(_ request: HTTPServer.Request) -> HTTPServer.Response {
    let modelObject = OpenAIAnswer.Model(id: name)
    if let apiKey, request.path != "/health", !Self.authorized(request.authorization, key: apiKey) {
      return .error(
        401, request.authorization == nil ? "no API key: send Authorization: Bearer <key>" : "incorrect API key provided",
        code: "invalid_api_key")
    }
    switch (request.method, request.path) {
    case ("GET", "/health"): return json(200, OpenAIAnswer.Health())
    case ("GET", "/v1/steering"):
      let defaults = Dictionary(defaultSteering.map { ($0.name, $0.factor) }, uniquingKeysWith: { a, _ in a })
      let data = steeringLibrary.keys.sorted().map { n in
        let f = steeringLibrary[n]!
        let layers = Set(f.vectors.map(\.layer) + f.gates.map(\.layer) + (f.projections ?? []).map(\.layer)).sorted()
        return OpenAIAnswer.SteeringEntry(
          name: n, kind: f.kind.rawValue, layers: layers, defaultFactor: defaults[n].map { Double($0) }, alpha: Double(f.alpha))
      }
      return json(200, OpenAIAnswer.List(data))
    case ("GET", "/v1/models"): return json(200, OpenAIAnswer.List([modelObject]))
    case ("GET", let path) where path.hasPrefix("/v1/models/"):
      let id = String(path.dropFirst("/v1/models/".count)).removingPercentEncoding ?? ""
      return id == name
        ? json(200, modelObject) : .error(404, "the model '\(id)' does not exist; this server has '\(name)'", code: "model_not_found")
    case ("POST", "/v1/chat/completions"): return complete(request.body, chat: true)
    case ("POST", "/v1/completions"): return complete(request.body, chat: false)
    // vLLM's tokenizer routes, which lm-eval's `local-completions` finds and then tokenizes with the
    // server's own tokenizer (no Hugging Face tokenizer needed beside a GGUF file).
    case ("GET", "/tokenizer_info"):
      let text = { (id: Int) in String(decoding: self.model.tokenizer.decodeBytes([id], skipSpecial: false), as: UTF8.self) }
      return json(
        200,
        OpenAIAnswer.TokenizerInfo(
          eosToken: text(model.tokenizer.endOfSequence), bosToken: model.tokenizer.beginOfSequence.map(text),
          modelMaxLength: model.configuration.contextLength))
    case ("POST", "/tokenize"), ("POST", "/detokenize"): return tokenizer(request.body, encode: request.path == "/tokenize")
    case (_, "/v1/models"), (_, "/v1/chat/completions"), (_, "/v1/completions"), (_, "/health"), (_, "/v1/steering"),
      (_, "/tokenizer_info"), (_, "/tokenize"), (_, "/detokenize"):
      return .error(405, "\(request.method) is not allowed on \(request.path)")
    default:
      return .error(404, "no route \(request.method) \(request.path)")
    }
  }

  /// `/tokenize` {"prompt": text, "add_special_tokens": bool} → {"tokens", "count", "max_model_len"};
  /// `/detokenize` {"tokens": [id]} → {"prompt"}. Special tokens written in the text are parsed, as
  /// Hugging Face tokenizers do; add_special_tokens (default true) adds the model's BOS where it has one.
  private func tokenizer(_ body: Data, encode: Bool) -> HTTPServer.Response {
    guard let parsed = try? ExactJSON.parse([UInt8](body), maxDepth: 8), let members = parsed.members else {
      return .error(400, "the body must be a JSON object")
    }
    let fields = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    let allowed: Set<String> = encode ? ["prompt", "add_special_tokens", "model"] : ["tokens", "model"]
    if let other = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
      return .error(400, "parameter '\(other)' is not supported by this route", param: other)
    }
    if encode {
      guard case .string(let text) = fields["prompt"] ?? .null else { return .error(400, "prompt must be a string", param: "prompt") }
      var special = true
      switch fields["add_special_tokens"] ?? .null {
      case .null: break
      case .bool(let b): special = b
      default: return .error(400, "add_special_tokens must be true or false", param: "add_special_tokens")
      }
      let ids = special ? model.tokenizer.encodeDocument(text, parseSpecial: true) : model.tokenizer.encode(text, parseSpecial: true)
      return json(200, OpenAIAnswer.Tokenized(tokens: ids, maxModelLength: model.configuration.contextLength))
    }
    let vocabulary = model.configuration.vocabularySize
    guard case .array(let items) = fields["tokens"] ?? .null else {
      return .error(400, "tokens must be a list of token ids", param: "tokens")
    }
    var ids: [Int] = []
    for item in items {
      guard case .integer(let id) = item, (0..<vocabulary).contains(id) else {
        return .error(400, "tokens must be token ids in 0..<\(vocabulary)", param: "tokens")
      }
      ids.append(id)
    }
    return json(200, OpenAIAnswer.Detokenized(prompt: String(decoding: model.tokenizer.decodeBytes(ids, skipSpecial: false), as: UTF8.self)))
  }

  private func json(_ status: Int, _ answer: some Encodable) -> HTTPServer.Response {
    HTTPServer.Response(status: status, body: OpenAIAnswer.encode(answer))
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

  private func complete(_ body: Data, chat: Bool) -> HTTPServer.Response {
    let (fail, number) = counts.withLock { counts in
      let fail = counts.failuresLeft > 0
      if fail { counts.failuresLeft -= 1 }
      counts.requests += 1
      return (fail, counts.requests)
    }
    if delayMs > 0 { usleep(useconds_t(delayMs * 1000)) }
    if fail { return .error(503, "injected failure") }
    let request: ChatCompletionRequest
    do {
      request = try ChatCompletionRequest(body: body, maxTokens: maxTokens, contextLength: model.configuration.contextLength)
    } catch {
      return .error(400, error.message, param: error.param)
    }
    if chat && !request.prompts.isEmpty {
      return .error(400, "prompt belongs to /v1/completions; send messages here", param: "prompt")
    }
    if !chat && request.prompts.isEmpty { return .error(400, "prompt is required", param: "prompt") }
    let vocabulary = model.configuration.vocabularySize
    var prompts: [[Int]] = []
    if chat {
      prompts = [model.tokenizer.encode(model.chatTemplate.render(request.messages), parseSpecial: true)]
    } else {
      for item in request.prompts {
        switch item {
        case .text(let text): prompts.append(model.tokenizer.encodeDocument(text, parseSpecial: false))
        case .tokens(let ids):
          if let bad = ids.first(where: { $0 >= vocabulary }) {
            return .error(400, "prompt holds token id \(bad); the model's vocabulary has \(vocabulary)", param: "prompt")
          }
          prompts.append(ids)
        }
      }
    }
    let param = chat ? "messages" : "prompt"
    guard prompts.allSatisfy({ !$0.isEmpty }) else { return .error(400, "the prompt is empty", param: param) }
    let longest = prompts.map(\.count).max()!
    let room = model.configuration.contextLength - longest
    guard room >= (request.maxTokens == 0 ? 0 : 1) else {
      return .error(
        400, "the prompt takes \(longest) tokens; the context holds \(model.configuration.contextLength)",
        param: param, code: "context_length_exceeded")
    }
    if request.stream && (prompts.count > 1 || request.echo) {
      return .error(400, "stream takes one prompt without echo; send the others as separate requests", param: "stream")
    }
    let steeringChoice = request.steering ?? defaultSteering
    let steering: (any Intervention)?
    do { steering = try intervention(steeringChoice) } catch { return .error(400, error.message, param: error.param) }
    let runs = prompts.map { prompt in
      CompletionRun(
        model: model, loop: loop, name: name, request: request, prompt: prompt,
        maxTokens: min(request.maxTokens, model.configuration.contextLength - prompt.count), chat: chat,
        id: (chat ? "chatcmpl-" : "cmpl-") + "\(number)", steering: steeringChoice)
    }
    let run = runs[0]
    if request.stream {
      // Made for this request alone (`intervention(_:)` builds a new one each time) and run only by
      // the decode loop's thread once handed over: never used by two threads at once.
      nonisolated(unsafe) let steering = steering
      return .events { send in run.stream(intervention: steering, send: send) }
    }
    if chat {
      do { return json(200, try run.whole(intervention: steering)) } catch { return .error(500, "\(error)") }
    }
    // Completions: each prompt's `n` choices in turn (choice index = prompt · n + i), the echoed
    // prompt scored under a fresh copy of the same steering.
    do {
      var choices: [OpenAIAnswer.Choice] = []
      var usage = OpenAIAnswer.Usage(promptTokens: 0, completionTokens: 0)
      for (p, run) in runs.enumerated() {
        let echoed: CompletionRun.EchoedPrompt?
        if request.echo {
          let text: [UInt8]
          switch request.prompts[p] {
          case .text(let s): text = Array(s.utf8)
          case .tokens(let ids): text = model.tokenizer.decodeBytes(ids, skipSpecial: false)
          }
          let scored =
            request.logProbabilities
            ? try model.promptLogProbabilities(run.prompt, top: request.topLogProbabilities, intervention: try intervention(steeringChoice))
            : nil
          echoed = CompletionRun.EchoedPrompt(text: text, scores: scored)
        } else {
          echoed = nil
        }
        let answer = try run.completionChoices(intervention: p == 0 ? steering : try intervention(steeringChoice), echo: echoed, firstIndex: p * request.count)
        choices += answer.choices
        usage.promptTokens += run.prompt.count
        usage.completionTokens += answer.completionTokens
      }
      return json(
        200,
        OpenAIAnswer.Completion(
          id: run.id, object: "text_completion", created: run.created, model: name, choices: choices, usage: .value(usage),
          steering: run.appliedSteering))
    } catch let error as ChatCompletionRequest.Invalid {
      return .error(400, error.message, param: error.param)
    } catch {
      return .error(500, "\(error)")
    }
  }
}

/// One completion request's generation and its answer in OpenAI's shapes.
struct CompletionRun {
  let model: DecoderModel
  let loop: DecodeLoop
  let name: String
  let request: ChatCompletionRequest
  let prompt: [Int]
  let maxTokens: Int
  let chat: Bool
  let id: String
  /// The steering applied, as the answer reports it.
  let steering: [(name: String, factor: Float)]
  let created = Int(Date().timeIntervalSince1970)

  var appliedSteering: [OpenAIAnswer.AppliedSteering] { steering.map { .init(name: $0.name, factor: Double($0.factor)) } }

  /// Generates the `n` completions in the server's decode loop; `onPiece(choice, bytes, token)`
  /// gets each token's safe text on this thread, and returning false cancels every choice.
  private func generate(
    intervention: (any Intervention)?, onPiece: ((Int, [UInt8], Int) -> Bool)? = nil
  ) throws -> (generations: [Generation], texts: [[UInt8]], stopped: [Bool]) {
    let channel = ChoiceChannel(count: request.count, stops: request.stop)
    let sampling = SamplingParameters(temperature: request.temperature, topP: request.topP, seed: request.seed)
    let tokenizer = model.tokenizer
    loop.submit(
      (0..<request.count).map { choice in
        DecodeLoop.Request(
          prompt: prompt, maxNewTokens: maxTokens, sampling: sampling, stream: choice,
          logProbabilities: request.logProbabilities ? max(1, request.topLogProbabilities) : 0, intervention: intervention,
          onToken: { channel.token(choice, tokenizer.decodeBytes([$0], skipSpecial: true), $0) },
          onFinish: { channel.finish(choice, $0) })
      })
    while let (choice, piece, token) = channel.next() {
      if !(onPiece?(choice, piece, token) ?? true) { channel.cancel() }
    }
    let generations = try channel.results()
    var texts: [[UInt8]] = []
    for i in 0..<request.count {
      let rest = channel.matchers[i].finish()
      if !rest.isEmpty { _ = onPiece?(i, rest, -1) }
      texts.append(channel.matchers[i].completeText)
    }
    return (generations, texts, channel.matchers.map(\.stopped))
  }

  private func finishReason(_ g: Generation, stopped: Bool) -> String {
    stopped || g.finishReason != .length ? "stop" : "length"
  }

  private func tokenEntry(_ g: Generation, _ step: Int) -> OpenAIAnswer.TokenLogProbability {
    func entry(_ id: Int, _ lp: Float) -> OpenAIAnswer.TokenLogProbability {
      let bytes = model.tokenizer.decodeBytes([id], skipSpecial: false)
      return .init(token: String(decoding: bytes, as: UTF8.self), logprob: Double(lp), bytes: bytes.map(Int.init))
    }
    var e = entry(g.ids[step], g.logProbabilities[step])
    e.topLogprobs = g.topLogProbabilities[step].prefix(request.topLogProbabilities).map { entry($0.id, $0.logProbability) }
    return e
  }

  private func logprobs(_ g: Generation) -> JSONField<OpenAIAnswer.LogProbabilities> {
    guard request.logProbabilities else { return .null }
    let steps = min(g.ids.count, g.logProbabilities.count)
    return .value(.chat(content: (0..<steps).map { tokenEntry(g, $0) }))
  }

  private func usage(_ generations: [Generation]) -> OpenAIAnswer.Usage {
    OpenAIAnswer.Usage(promptTokens: prompt.count, completionTokens: generations.reduce(0) { $0 + $1.ids.count })
  }

  /// An echoed prompt: its text as the answer repeats it, and its tokens' scores where logprobs
  /// were asked for (`DecoderModel.promptLogProbabilities`).
  struct EchoedPrompt {
    var text: [UInt8]
    var scores: (logProbabilities: [Float], top: [[(id: Int, logProbability: Float)]])?
  }

  /// The `n` choices of a `/v1/completions` answer for this prompt, numbered from `firstIndex`, with
  /// OpenAI's legacy logprobs (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`); with an
  /// echo, the prompt's tokens come first, the first of them unscored (null).
  func completionChoices(
    intervention: (any Intervention)?, echo: EchoedPrompt?, firstIndex: Int
  ) throws -> (choices: [OpenAIAnswer.Choice], completionTokens: Int) {
    // Each choice's new tokens, their scores and alternatives, text and finish reason; none where
    // max_tokens is 0 (the length was reached before the first token).
    typealias Made = (ids: [Int], logProbabilities: [Float], top: [[(id: Int, logProbability: Float)]], text: [UInt8], finish: String)
    var made: [Made] = Array(repeating: ([], [], [], [], "length"), count: request.count)
    if maxTokens > 0 {
      let (generations, texts, stopped) = try generate(intervention: intervention)
      made = generations.indices.map { i in
        let g = generations[i]
        return (g.ids, g.logProbabilities, g.topLogProbabilities, texts[i], finishReason(g, stopped: stopped[i]))
      }
    }
    let tokenizer = model.tokenizer
    func tokenText(_ id: Int) -> String { String(decoding: tokenizer.decodeBytes([id], skipSpecial: false), as: UTF8.self) }
    func alternatives(_ top: [(id: Int, logProbability: Float)]) -> [String: Double] {
      var out: [String: Double] = [:]
      for entry in top.prefix(request.topLogProbabilities) {
        let text = tokenText(entry.id)
        if out[text] == nil { out[text] = Double(entry.logProbability) }
      }
      return out
    }
    var choices: [OpenAIAnswer.Choice] = []
    for (i, g) in made.enumerated() {
      let echoText = echo?.text ?? []
      var choice = OpenAIAnswer.Choice(
        index: firstIndex + i, finishReason: g.finish, text: String(decoding: echoText + g.text, as: UTF8.self))
      if request.logProbabilities {
        var tokens: [String] = []
        var logProbabilities: [Double?] = []
        var top: [[String: Double]?] = []
        var ids: [Int] = []
        if let echo {
          ids = prompt
          tokens = prompt.map(tokenText)
          logProbabilities = [nil] + (echo.scores?.logProbabilities ?? []).map { Double($0) }
          top = [nil] + (echo.scores?.top ?? []).map { alternatives($0) }
        }
        let steps = min(g.ids.count, g.logProbabilities.count)
        for step in 0..<steps {
          ids.append(g.ids[step])
          tokens.append(tokenText(g.ids[step]))
          logProbabilities.append(Double(g.logProbabilities[step]))
          top.append(alternatives(step < g.top.count ? g.top[step] : []))
        }
        // Offsets in characters (Unicode scalars, as Python counts them) of each token's start: the
        // UTF-8 bytes before it that begin a scalar (all but continuation bytes 10xxxxxx), counted
        // as the tokens go instead of decoding every prefix again.
        var offsets: [Int] = []
        var scalars = 0
        for id in ids {
          offsets.append(scalars)
          scalars += tokenizer.decodeBytes([id], skipSpecial: false).reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        }
        choice.logprobs = .value(.legacy(tokens: tokens, tokenLogprobs: logProbabilities, topLogprobs: top, textOffset: offsets))
      }
      choices.append(choice)
    }
    return (choices, made.reduce(0) { $0 + $1.ids.count })
  }

  /// The whole answer.
  func whole(intervention: (any Intervention)?) throws -> OpenAIAnswer.Completion {
    let (generations, texts, stopped) = try generate(intervention: intervention)
    let choices = generations.indices.map { i in
      let text = String(decoding: texts[i], as: UTF8.self)
      return OpenAIAnswer.Choice(
        index: i, finishReason: finishReason(generations[i], stopped: stopped[i]), logprobs: logprobs(generations[i]),
        message: chat ? OpenAIAnswer.Message(role: "assistant", content: text) : nil, text: chat ? nil : text)
    }
    return OpenAIAnswer.Completion(
      id: id, object: chat ? "chat.completion" : "text_completion", created: created, model: name, choices: choices,
      usage: .value(usage(generations)), steering: appliedSteering)
  }

  /// The answer as server-sent events: a chunk per piece of text, a last chunk per choice with its
  /// finish reason, the usage when asked, then `[DONE]`. Stops early when the client leaves.
  func stream(intervention: (any Intervention)?, send: (Data) -> Bool) {
    withoutActuallyEscaping(send) { stream(intervention: intervention, escapingSend: $0) }
  }

  private func stream(intervention: (any Intervention)?, escapingSend send: @escaping (Data) -> Bool) {
    var connected = true
    func event(_ choices: [OpenAIAnswer.Choice], usage: OpenAIAnswer.Usage? = nil) {
      guard connected else { return }
      let chunk = OpenAIAnswer.Completion(
        id: id, object: chat ? "chat.completion.chunk" : "text_completion", created: created, model: name, choices: choices,
        usage: request.streamUsage ? JSONField(orNull: usage) : .omitted, steering: appliedSteering)
      connected = send(Data("data: ".utf8) + OpenAIAnswer.encode(chunk) + Data("\n\n".utf8))
    }
    func piece(_ index: Int, _ text: String, role: Bool = false, finish: String? = nil) -> OpenAIAnswer.Choice {
      guard chat else { return OpenAIAnswer.Choice(index: index, finishReason: finish, text: text) }
      return OpenAIAnswer.Choice(
        index: index, finishReason: finish, delta: OpenAIAnswer.Message(role: role ? "assistant" : nil, content: finish == nil ? text : nil))
    }
    if chat { event((0..<request.count).map { piece($0, "", role: true) }) }
    do {
      let (generations, _, stopped) = try generate(intervention: intervention) { choice, bytes, _ in
        if !bytes.isEmpty { event([piece(choice, String(decoding: bytes, as: UTF8.self))]) }
        return connected
      }
      event(generations.indices.map { piece($0, "", finish: finishReason(generations[$0], stopped: stopped[$0])) })
      if request.streamUsage { event([], usage: usage(generations)) }
    } catch {
      event([OpenAIAnswer.Choice(index: 0, finishReason: "error", logprobs: .omitted, error: "\(error)")])
    }
    if connected { _ = send(Data("data: [DONE]\n\n".utf8)) }
  }
}

/// What the decode loop's thread hands to a request's thread: each choice's pieces of text in
/// order (stop strings applied there), then each choice's end. `matchers` may be read once
/// `next()` has returned nil.
///
/// Sendable by hand: every stored property is read and written under `condition`, except
/// `matchers` after the end, when the loop's thread no longer touches them.
private final class ChoiceChannel: @unchecked Sendable {
  var matchers: [StopMatcher]
  private var queue: [(choice: Int, piece: [UInt8], token: Int)] = []
  private var outcomes: [Result<Generation, any Error>?]
  private var cancelled = false
  private let condition = NSCondition()

  init(count: Int, stops: [String]) {
    matchers = Array(repeating: StopMatcher(stops: stops), count: count)
    outcomes = Array(repeating: nil, count: count)
  }

  /// On the loop's thread: whether the choice goes on.
  func token(_ choice: Int, _ bytes: [UInt8], _ token: Int) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    queue.append((choice, matchers[choice].append(bytes), token))
    condition.signal()
    return !cancelled && !matchers[choice].stopped
  }

  func finish(_ choice: Int, _ outcome: Result<Generation, any Error>) {
    condition.lock()
    outcomes[choice] = outcome
    condition.signal()
    condition.unlock()
  }

  func cancel() {
    condition.lock()
    cancelled = true
    condition.unlock()
  }

  /// The next piece, waiting for it; nil once every choice has finished and all pieces are out.
  func next() -> (Int, [UInt8], Int)? {
    condition.lock()
    defer { condition.unlock() }
    while queue.isEmpty && outcomes.contains(where: { $0 == nil }) { condition.wait() }
    return queue.isEmpty ? nil : queue.removeFirst()
  }

  func results() throws -> [Generation] { try outcomes.map { try $0!.get() } }
}
