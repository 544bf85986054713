import ArgumentParser
import CLICommon
import Capture
import Foundation
import LM
import Steering
import Tensor

public struct Bench: ParsableCommand {
  public init() {}
  public static let configuration = CommandConfiguration(
    abstract: "Measure prefill, decode, batched decode, training, capture and scoring throughput (median of runs) and peak memory.",
    discussion: """
      Examples:
        psr bench
        psr bench --json --runs 3
      """)

  @OptionGroup var modelOptions: ModelOptions
  @Option(help: "Runs per measurement; the median is reported.") var runs = 3
  @Option(help: "Prompt length for the prefill measurement.") var prefillTokens = 512
  @Option(help: "Tokens per stream for the decode measurements.") var decodeTokens = 128
  @Flag(help: "Print one JSON object.") var json = false
  @Option(
    help: "Measure only these figures, comma-separated (prefill, decode, batch16, batch64, train, capture, score, psr).",
    transform: Check.list(of: BenchFigure.self, "--only"))
  public var only: [BenchFigure]?

  private func wants(_ figure: BenchFigure) -> Bool { only?.contains(figure) ?? true }

  public func validate() throws {
    try Check.within(runs, 1...100, "--runs")
    try Check.within(prefillTokens, 1...(1 << 20), "--prefill-tokens")
    try Check.within(decodeTokens, 1...(1 << 20), "--decode-tokens")
  }

  public func run() throws {
    let model = try modelOptions.load()
    let context = model.configuration.contextLength
    for (flag, tokens) in [("--prefill-tokens", prefillTokens), ("--decode-tokens", decodeTokens)] where tokens >= context {
      throw CLIError("\(flag) \(tokens) does not fit the model's context of \(context) tokens")
    }
    var results: [(key: String, value: Double)] = []
    // Each figure is printed as soon as it is measured (on standard error with --json, so that
    // standard output stays one JSON object): a full bench takes minutes.
    let started = Date()
    func record(_ key: String, _ value: Double) {
      results.append((key, value))
      let line = key.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %10.1f", value)
      if json { log("bench: \(line)   (\(Int(Date().timeIntervalSince(started))) s)") } else { print(line) }
      fflush(nil)
    }
    log("bench: \(runs) run(s) per figure; weights \(model.weightPrecision.rawValue), compute \(model.computePrecision.rawValue); figures: \((only ?? BenchFigure.allCases).map(\.rawValue).joined(separator: ", "))")
    let vocabulary = model.configuration.vocabularySize
    var generator = SeededGenerator(seed: 1)
    let low = min(100, vocabulary / 2)
    let prompt = (0..<prefillTokens).map { _ in Int(generator.next() % UInt64(vocabulary - low)) + low }
    if wants(.prefill) {
      record(
        "prefill_tok_s",
        try median(runs) {
          let cache = model.makeCache(capacity: prefillTokens)
          return try time(tokens: prefillTokens) {
            try model.forward([ForwardChunk(tokens: prompt, cache: cache, promptLength: prefillTokens)])
          }
        })
    }
    for streams in [1, 16, 64] where wants(BenchFigure(rawValue: streams == 1 ? "decode" : "batch\(streams)")!) {
      let key = streams == 1 ? "decode_tok_s" : "batch\(streams)_tok_s"
      record(key, try median(streams == 1 ? runs : 1) { try decodeRate(model, streams: streams) })
    }
    let d = model.configuration.modelDimension
    // Layer 15 (the default model's S-PSR layer), or the last one of a shallower model (a real
    // shape with fewer layers), so that the hook and the backward always run.
    let layer = min(15, model.configuration.layerCount - 1)
    let vector = (0..<d).map { _ in generator.nextUnit() - 0.5 }
    let sequences = (0..<4).map { _ in
      TeacherForcedSequence(
        prompt: (0..<16).map { _ in Int(generator.next() % 40_000) + 100 },
        response: (0..<112).map { _ in Int(generator.next() % 40_000) + 100 })
    }
    for (key, positions) in [("train_fssv_tok_s", PositionSet.all), ("train_prosv_tok_s", .prompt(prefix: 2, suffix: 2))]
    where wants(.train) {
      record(
        key,
        try median(runs) {
          let steering = AdditiveVector(layer: layer, alpha: 1, vector: vector, positions: positions)
          return try time(tokens: 512) { _ = try model.responseLoss(sequences, intervention: steering, backward: true) }
        })
    }
    if wants(.capture) { record("capture_tok_s", try median(runs) { try captureRate(model, layer: layer) }) }
    if wants(.score) { record("score_tok_s", try median(runs) { try scoreRate(model) }) }
    let gate = PSRGate(gates: [GateEntry(layer: layer, weight: vector.map { $0 / 100 }, bias: 0.1, direction: vector)])
    if wants(.psr) {
      // The gate costs one dot product and one axpy per token and layer, far below the ±10%
      // run-to-run noise of this machine; so the headline figure is the time spent inside the
      // hook over the unsteered decode time of the same run, and the A/B ratio (median of
      // interleaved pairs) is reported beside it.
      var ratios: [Double] = []
      var shares: [Double] = []
      for _ in 0..<max(5, 2 * runs) {
        let plain = try decodeRate(model, streams: 16, tokens: 32)
        let timed = TimedIntervention(gate)
        let steered = try decodeRate(model, streams: 16, tokens: 32, intervention: timed)
        ratios.append(plain / steered)
        shares.append(timed.seconds / (Double(16 * 32) / steered - timed.seconds))
      }
      record("psr_overhead_pct", shares.sorted()[shares.count / 2] * 100)
      record("psr_overhead_ab_pct", (ratios.sorted()[ratios.count / 2] - 1) * 100)
    }
    record("peak_rss_mb", Double(peakResidentMegabytes()))
    if json {
      // What ran, so that a row read later says it (int8 asked for on a CPU without VNNI is fp32).
      let row = BenchRow(
        figures: results.map { ($0.key, ($0.value * 10).rounded() / 10) }, compute: model.computePrecision,
        weights: model.weightPrecision)
      print(try JSONText.encode(row))
    }
  }

  /// Tokens per second decoding `decodeTokens` tokens in each of `streams` sequences after
  /// a short prompt; prefill time is excluded.
  private func decodeRate(
    _ model: DecoderModel, streams: Int, tokens: Int? = nil, intervention: (any Intervention)? = nil
  ) throws -> Double {
    let decodeTokens = tokens ?? self.decodeTokens
    let prompt = model.chatPrompt(user: "Write a long story about a lighthouse keeper.")
    let caches = (0..<streams).map { _ in model.makeCache(capacity: prompt.count + decodeTokens + 1) }
    let chunks = caches.map { ForwardChunk(tokens: prompt, cache: $0, promptLength: prompt.count) }
    var logits = try model.forward(chunks, intervention: intervention)
    return try time(tokens: streams * decodeTokens) {
      for _ in 0..<decodeTokens {
        let next = (0..<streams).map { s in
          logits.storage.withUnsafeBufferPointer { Sampler.argmax($0.baseAddress! + s * logits.cols, count: logits.cols) }
        }
        logits = try model.forward(
          zip(next, caches).map { ForwardChunk(tokens: [$0], cache: $1, promptLength: prompt.count) }, intervention: intervention)
      }
    }
  }
}

/// Response tokens captured per second (both teacher-forced passes) on 8 given responses
/// of 128 tokens at layer `layer`.
private func captureRate(_ model: DecoderModel, layer: Int) throws -> Double {
  let text = String(repeating: "The lighthouse keeper climbed the stairs and looked out over the grey sea. ", count: 12)
  let inputs = (0..<8).map { CaptureInput(instruction: "Tell me story number \($0).", output: text) }
  let capture = try ActivationCapture(
    model: model, options: CaptureOptions(steeringPrompt: "You are a pirate.", layers: [layer], maxNewTokens: 128))
  var tokens = 0
  let start = DispatchTime.now().uptimeNanoseconds
  for e in try capture.capture(inputs, indices: Array(0..<8)) { tokens += e.tokens.count }
  return Double(tokens) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

/// Response tokens scored per second by teacher-forced log-probabilities, as the embedded
/// judge's fluency measure runs them: 8 chat prompts, 128 response tokens each, 4 of the
/// prompts shared by two responses (the judge sees each question at several factors).
private func scoreRate(_ model: DecoderModel) throws -> Double {
  var generator = SeededGenerator(seed: 2)
  let sequences = (0..<8).map { i in
    TeacherForcedSequence(
      prompt: model.chatPrompt(user: "Tell me about lighthouse number \(i / 2)."),
      response: (0..<128).map { _ in Int(generator.next() % 40_000) + 100 })
  }
  return try time(tokens: 8 * 128) { _ = try model.responseLogProbabilities(sequences) }
}

func time(tokens: Int, _ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  return Double(tokens) / seconds
}

func median(_ runs: Int, _ measure: () throws -> Double) rethrows -> Double {
  var values: [Double] = []
  for _ in 0..<runs { values.append(try measure()) }
  values.sort()
  return values[values.count / 2]
}

/// `bench --json`: one object, each measured figure under its name (rounded to 0.1), and the
/// compute and weight precisions that ran.
struct BenchRow: Encodable {
  var figures: [(name: String, value: Double)]
  var compute: ComputePrecision
  var weights: WeightPrecision

  func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: JSONKey.self)
    for f in figures { try c.encode(f.value, forKey: JSONKey(f.name)) }
    try c.encode(compute.rawValue, forKey: JSONKey("compute"))
    try c.encode(weights.rawValue, forKey: JSONKey("weights"))
  }
}
