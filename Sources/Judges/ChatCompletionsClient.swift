import Foundation
import LM

/// A client of an OpenAI-compatible `/chat/completions` endpoint, with a timeout, retries
/// with exponential backoff (on transport errors, 429 and 5xx), a cap on requests in flight,
/// and a persistent cache keyed by model and prompt so that a rerun does not pay twice.
///
/// Sendable by hand: the settings are constants, and the cache and the statistics, which
/// concurrent requests update, are read and written only under `lock`.
public final class ChatCompletionsClient: @unchecked Sendable {
  public struct Statistics: Sendable, Equatable {
    public var requests = 0
    public var retries = 0
    public var cacheHits = 0
  }

  public let baseURL: URL
  public let model: String
  public let apiKey: String?
  public let timeout: TimeInterval
  public let retries: Int
  public let backoff: TimeInterval
  public let maxTokens: Int
  public private(set) var statistics = Statistics()
  private let inFlight: DispatchSemaphore
  private let cachePath: String?
  private var cache: [String: String] = [:]
  private let lock = NSLock()

  public init(
    baseURL: URL, model: String, apiKey: String?, concurrency: Int = 4, timeout: TimeInterval = 60, retries: Int = 4,
    backoff: TimeInterval = 0.5, maxTokens: Int = 256, cachePath: String? = nil
  ) {
    self.baseURL = baseURL
    self.model = model
    self.apiKey = apiKey
    self.timeout = timeout
    self.retries = retries
    self.backoff = backoff
    self.maxTokens = maxTokens
    inFlight = DispatchSemaphore(value: max(1, concurrency))
    self.cachePath = cachePath
    if let cachePath, let text = try? String(contentsOfFile: cachePath, encoding: .utf8) {
      // A line cut short by a crash mid-append is skipped: its answer is asked for again.
      for line in JSONLines.decode(CacheLine.self, from: text) {
        if case .success(let entry) = line.value { cache[entry.key] = entry.answer }
      }
    }
  }

  /// The answers to `prompts` (one user message each, temperature 0), in order; requests run
  /// concurrently up to the cap. Throws the first failure after its retries.
  public func complete(_ prompts: [String]) throws -> [String] {
    let outcome = Outcome(count: prompts.count)
    let group = DispatchGroup()
    for (i, prompt) in prompts.enumerated() {
      let key = "\(model)\n\(prompt)"
      lock.lock()
      let cached = cache[key]
      if cached != nil { statistics.cacheHits += 1 }
      lock.unlock()
      if let cached {
        outcome.answers[i] = cached
        continue
      }
      inFlight.wait()
      group.enter()
      DispatchQueue.global().async {
        defer {
          self.inFlight.signal()
          group.leave()
        }
        do {
          let answer = try self.completeWithRetries(prompt)
          self.lock.lock()
          defer { self.lock.unlock() }
          outcome.answers[i] = answer
          try self.store(key, answer)
        } catch {
          self.lock.lock()
          if outcome.failure == nil { outcome.failure = error }
          self.lock.unlock()
        }
      }
    }
    group.wait()
    if let failure = outcome.failure { throw failure }
    return outcome.answers.map { $0 ?? "" }
  }

  /// What the concurrent requests of one `complete` call hand back; written under `lock`,
  /// read after the group's wait.
  private final class Outcome: @unchecked Sendable {
    var answers: [String?]
    var failure: Error?
    init(count: Int) { answers = Array(repeating: nil, count: count) }
  }

  /// Remembers an answer, and appends it to the cache file when there is one.
  private func store(_ key: String, _ answer: String) throws {
    cache[key] = answer
    guard let cachePath else { return }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let line = try encoder.encode(CacheLine(key: key, answer: answer))
    let fm = FileManager.default
    if !fm.fileExists(atPath: cachePath) {
      try? fm.createDirectory(
        atPath: URL(fileURLWithPath: cachePath).deletingLastPathComponent().path, withIntermediateDirectories: true)
      guard fm.createFile(atPath: cachePath, contents: nil) else {
        throw JudgeError.data("cannot create the judge cache \(cachePath); check the directory and free space")
      }
    }
    guard let handle = FileHandle(forWritingAtPath: cachePath) else {
      throw JudgeError.data("cannot open the judge cache \(cachePath) for writing")
    }
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: line + Data("\n".utf8))
  }

  private func completeWithRetries(_ prompt: String) throws -> String {
    var attempt = 0
    while true {
      do {
        return try completeOnce(prompt)
      } catch let error as JudgeError where attempt < retries && Self.isTransient(error) {
        attempt += 1
        lock.lock()
        statistics.retries += 1
        lock.unlock()
        Thread.sleep(forTimeInterval: backoff * pow(2, Double(attempt - 1)))
      }
    }
  }

  static func isTransient(_ error: JudgeError) -> Bool {
    if case .server(let message) = error { return !message.hasPrefix("HTTP 4") || message.hasPrefix("HTTP 429") }
    return false
  }

  private func completeOnce(_ prompt: String) throws -> String {
    var headers = ["Content-Type": "application/json"]
    if let apiKey, !apiKey.isEmpty { headers["Authorization"] = "Bearer \(apiKey)" }
    let body = Request(model: model, messages: [Message(role: "user", content: prompt)], temperature: 0, max_tokens: maxTokens)
    lock.lock()
    statistics.requests += 1
    lock.unlock()
    let response: HTTPPost.Response
    do {
      response = try HTTPPost.send(
        baseURL.appendingPathComponent("chat/completions"), body: try JSONEncoder().encode(body), headers: headers,
        timeout: timeout)
    } catch JudgeError.server(let why) {
      throw JudgeError.server("request to \(baseURL.absoluteString) failed: \(why)")
    }
    let data: Data? = response.body
    guard response.status == 200 else {
      throw JudgeError.server(
        "HTTP \(response.status) from \(baseURL.absoluteString): \(String(decoding: response.body.prefix(200), as: UTF8.self))")
    }
    guard let answer = try? JSONDecoder().decode(Answer.self, from: data ?? Data()), let content = answer.choices.first?.message.content
    else { throw JudgeError.server("HTTP 200 from \(baseURL.absoluteString) without choices[0].message.content") }
    return content
  }

  /// One line of the cache file.
  struct CacheLine: Codable {
    var key: String
    var answer: String
  }

  /// The chat completion request, OpenAI's shape (greedy, one user message).
  struct Request: Encodable {
    var model: String
    var messages: [Message]
    var temperature: Double
    var max_tokens: Int
  }

  struct Message: Codable {
    var role: String
    var content: String
  }

  /// What is read of the answer: the first choice's message text (other fields are ignored).
  struct Answer: Decodable {
    struct Choice: Decodable {
      struct Content: Decodable { var content: String }
      var message: Content
    }
    var choices: [Choice]
  }
}
