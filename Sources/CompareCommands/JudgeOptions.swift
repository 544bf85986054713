import ArgumentParser
import CLICommon
import Embedding
import Foundation
import Judges
import LM

/// Which judge scores responses, shared by `compare` and `compare judge`.
struct JudgeOptions: ParsableArguments {
  @Option(help: "embedded (offline, default) or openai (an OpenAI-compatible chat-completions server).") var judge = JudgeKind.embedded
  @Option(help: "Calibration of the embedded judge.") var calibration = "judges/calibration.json"
  @Option(help: "Directory with the sentence encoder's model.safetensors and tokenizer.json.") var encoder = "models/all-minilm-l6-v2"
  @Option(name: .customLong("judge-url"), help: "Base URL of the OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1.") var judgeURL: String?
  @Option(help: "Model name sent to the server.") var judgeModel: String?
  @Option(help: "Environment variable holding the API key.") var judgeKeyEnv = "OPENAI_API_KEY"
  @Option(help: "Requests in flight at once.") var judgeConcurrency = 4
  @Option(help: "Seconds before a request times out.") var judgeTimeout: Double = 60
  @Option(help: "Retries per request, with exponential backoff.") var judgeRetries = 4
  @Option(help: "Cache file of LLM judge answers (JSON Lines), keyed by prompt.") var judgeCache = "judges/cache.jsonl"

  public func validate() throws {
    if judge == .openai && (judgeURL == nil || judgeModel == nil) {
      throw ValidationError("--judge openai needs --judge-url and --judge-model")
    }
    if let judgeURL {
      guard let url = URL(string: judgeURL), url.scheme == "http" || url.scheme == "https", url.host != nil else {
        throw ValidationError("--judge-url \(judgeURL) is not an http(s) URL")
      }
    }
    try Check.within(judgeConcurrency, 1...256, "--judge-concurrency")
    try Check.finite(judgeTimeout, "--judge-timeout", in: 0.001...86_400)
    try Check.within(judgeRetries, 0...100, "--judge-retries")
  }

  /// Paths are taken relative to the working directory, else to the executable's checkout.
  static func resolve(_ path: String) -> String { resolvePath(path) }

  /// The cache file: found as it is, else in its directory as resolved (judges/ of the checkout),
  /// so that a first run from another directory starts the same cache that later runs find.
  var resolvedCache: String {
    let found = Self.resolve(judgeCache)
    guard found == judgeCache, !judgeCache.hasPrefix("/"), !FileManager.default.fileExists(atPath: judgeCache) else { return found }
    let directory = (judgeCache as NSString).deletingLastPathComponent
    return directory.isEmpty ? judgeCache : Self.resolve(directory) + "/" + (judgeCache as NSString).lastPathComponent
  }

  func make(model: DecoderModel) throws -> any Judge { try make { model } }

  /// The judge; `model` is loaded only for the embedded judge (its fluency score needs the LM),
  /// never for `--judge openai`.
  func make(model load: () throws -> DecoderModel) throws -> any Judge {
    if judge == .openai {
      return try LLMJudgeFactory.make(self)
    }
    let model = try load()
    let encoder = try SentenceEncoder(directory: Self.resolve(self.encoder))
    let calibration = try JudgeCalibration.load(Self.resolve(self.calibration))
    if calibration.languageModelSHA256 != (try model.fingerprint.sha256) {
      log("warning: the judge calibration was made with another language model; fluency scores may be off")
    }
    return EmbeddedJudge(encoder: encoder, model: model, calibration: calibration)
  }
}

enum LLMJudgeFactory {
  static func make(_ o: JudgeOptions) throws -> any Judge {
    guard let url = URL(string: o.judgeURL!), url.scheme == "http" || url.scheme == "https" else {
      throw CLIError("--judge-url \(o.judgeURL!) is not an http(s) URL")
    }
    let client = ChatCompletionsClient(
      baseURL: url, model: o.judgeModel!, apiKey: ProcessInfo.processInfo.environment[o.judgeKeyEnv],
      concurrency: o.judgeConcurrency, timeout: o.judgeTimeout, retries: o.judgeRetries, cachePath: o.resolvedCache)
    return LLMJudge(client: client)
  }
}
