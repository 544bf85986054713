import Foundation
import Tensor

/// Continuous batching: sequences join and leave one decoding loop between steps, so concurrent
/// requests share each decode forward. Each sequence has its own prompt, sampling, length, random
/// stream and intervention (``RoutedIntervention``); a newcomer's prompt is prefilled alone at the
/// next step, then it decodes with the others.
///
/// A sequence's tokens do not depend on its company where the decode products run the project's
/// quantized kernels (every quantized GGUF type; BatchInvarianceTests, SuperBlockMatrixTests): each
/// row is summed in one order whatever the number of rows, the sequence samples from its own stream, and its
/// prefill is the one `generate` runs. With fp32 or bf16 weights one row goes through sgemv and
/// several through another kernel, so there a near-tie may break differently under load. Callbacks
/// run on the loop's thread and must be quick; a slow consumer should queue.
///
/// Sendable by hand: `pending` and `counters` are read and written only under `condition`;
/// `running` only by the loop's own thread. A request's intervention and callbacks are handed
/// over with it: from `submit` on, only the loop's thread runs them.
public final class DecodeLoop: @unchecked Sendable {
  /// A sequence to decode and where its tokens go.
  public struct Request {
    public var prompt: [Int]
    public var maxNewTokens: Int
    public var sampling: SamplingParameters
    /// Which random stream of `sampling.seed` it draws from (as `generate`'s `streams`).
    public var stream: Int
    public var logProbabilities: Int
    public var intervention: (any Intervention)?
    /// Each token as it is made; false ends the sequence (finish reason `.stopped`).
    public var onToken: (Int) -> Bool
    /// The finished generation, or the error that ended the batch it was in.
    public var onFinish: (Result<Generation, any Error>) -> Void

    public init(
      prompt: [Int], maxNewTokens: Int, sampling: SamplingParameters, stream: Int = 0, logProbabilities: Int = 0,
      intervention: (any Intervention)? = nil, onToken: @escaping (Int) -> Bool = { _ in true },
      onFinish: @escaping (Result<Generation, any Error>) -> Void
    ) {
      self.prompt = prompt
      self.maxNewTokens = maxNewTokens
      self.sampling = sampling
      self.stream = stream
      self.logProbabilities = logProbabilities
      self.intervention = intervention
      self.onToken = onToken
      self.onFinish = onFinish
    }
  }

  /// Counters since start, for the load test and logs.
  public struct Statistics: Sendable {
    public var steps = 0
    public var tokens = 0
    /// The most sequences in one decode forward.
    public var largestBatch = 0
  }

  public let model: DecoderModel
  /// Sequences decoded together at most; later ones wait for a place.
  public let maxBatch: Int
  private var pending: [Request] = []
  private var running: [Entry] = []
  private var counters = Statistics()
  private let condition = NSCondition()
  private let stops: Set<Int>

  public init(model: DecoderModel, maxBatch: Int = 32) {
    self.model = model
    self.maxBatch = max(1, maxBatch)
    stops = [model.tokenizer.endOfSequence]
    // The loop holds itself: it serves for the life of the process.
    let thread = Thread { self.run() }
    thread.name = "decode-loop"
    thread.start()
  }

  public var statistics: Statistics {
    condition.lock()
    defer { condition.unlock() }
    return counters
  }

  /// Queues sequences; they join at the next step with room. Empty prompts or no tokens to make
  /// finish at once.
  public func submit(_ requests: [Request]) {
    condition.lock()
    pending += requests
    condition.signal()
    condition.unlock()
  }

  private func run() {
    while true {
      condition.lock()
      while pending.isEmpty && running.isEmpty { condition.wait() }
      let room = maxBatch - running.count
      let joining = Array(pending.prefix(room))
      pending.removeFirst(joining.count)
      condition.unlock()
      step(joining)
    }
  }

  private typealias Entry = (request: Request, state: DecodingSequence, next: ForwardChunk)

  /// One decode forward for the running sequences, then each newcomer's prompt in a forward of its
  /// own, as `generate` prefills one prompt: a prompt's products then take the same kernels as they
  /// would alone (a packed prefill of many prompts crosses to sgemm).
  private func step(_ joining: [Request]) {
    var made = 0
    var finished: [(Request, Result<Generation, any Error>)] = []
    var kept = running.isEmpty ? [] : advance(running, made: &made, finished: &finished)
    let decodeRows = running.count
    for r in joining {
      guard !r.prompt.isEmpty, r.maxNewTokens > 0 else {
        finished.append((r, .success(Generation(promptIDs: r.prompt, ids: [], finishReason: .length, topLogProbabilities: []))))
        continue
      }
      let state = DecodingSequence(prompt: r.prompt, maxNewTokens: r.maxNewTokens, seed: r.sampling.seed, stream: r.stream, model: model)
      kept += advance(
        [(r, state, ForwardChunk(tokens: r.prompt, cache: state.cache, promptLength: r.prompt.count))], made: &made, finished: &finished)
    }
    running = kept
    condition.lock()
    counters.steps += 1
    counters.tokens += made
    counters.largestBatch = max(counters.largestBatch, decodeRows)
    condition.unlock()
    // After the counters, so that a caller woken by its last sequence sees them complete.
    for (request, outcome) in finished { request.onFinish(outcome) }
  }

  /// A forward over `batch` and a token for each; returns the sequences that go on. A failed
  /// forward ends every sequence in it with the error.
  private func advance(
    _ batch: [Entry], made: inout Int, finished: inout [(Request, Result<Generation, any Error>)]
  ) -> [Entry] {
    let logits: Matrix
    do {
      logits = try model.forward(batch.map(\.next), logits: .last, intervention: RoutedIntervention(batch.map(\.request.intervention)))
    } catch {
      finished += batch.map { ($0.request, .failure(error)) }
      return []
    }
    var kept: [Entry] = []
    logits.storage.withUnsafeBufferPointer { lp in
      for (row, var b) in batch.enumerated() {
        let before = b.state.result.ids.count
        let token: Int?
        do {
          token = try b.state.advance(
            logits: lp.baseAddress! + row * logits.cols, count: logits.cols, sampling: b.request.sampling,
            logProbabilities: b.request.logProbabilities, stops: stops, onToken: b.request.onToken)
        } catch {
          finished.append((b.request, .failure(error)))
          continue
        }
        made += b.state.result.ids.count - before
        if let token {
          b.next = b.state.chunk(token)
          kept.append(b)
        } else {
          finished.append((b.request, .success(b.state.result)))
        }
      }
    }
    return kept
  }
}
